-- What a tenant prints on its documents about itself. All optional: an
-- invoice without them shows the tenant's name.
ALTER TABLE tenants
    ADD COLUMN display_name        text,
    ADD COLUMN address_line1       text,
    ADD COLUMN address_line2       text,
    ADD COLUMN address_city        text,
    ADD COLUMN address_state       text,
    ADD COLUMN address_postal_code text,
    ADD COLUMN address_country     text,
    ADD COLUMN email               text,
    ADD COLUMN logo_url            text,
    ADD COLUMN invoice_footer      text;

-- An exempt customer is charged no tax; its tax id is printed on its documents.
ALTER TABLE customers
    ADD COLUMN tax_exempt boolean NOT NULL DEFAULT false,
    ADD COLUMN tax_id     text;

-- A coupon takes a percentage or a fixed amount off invoice lines, for one
-- invoice (ONCE), a number of them (REPEATING) or all (FOREVER).
CREATE TABLE coupons (
    tenant_id            uuid        NOT NULL REFERENCES tenants (id),
    id                   uuid        NOT NULL,
    code                 text        NOT NULL,
    name                 text        NOT NULL,
    percent_off          numeric     CHECK (percent_off > 0 AND percent_off <= 100),
    amount_off           numeric     CHECK (amount_off > 0),
    -- The currency of amount_off; a coupon of an amount reduces only invoices in it.
    currency             text        CHECK (currency ~ '^[A-Z]{3}$'),
    duration             text        NOT NULL CHECK (duration IN ('ONCE', 'REPEATING', 'FOREVER')),
    duration_periods     integer     CHECK (duration_periods > 0),
    max_redemptions      integer     CHECK (max_redemptions > 0),
    -- Counted by the statement that redeems, so the limit holds under concurrency.
    times_redeemed       integer     NOT NULL DEFAULT 0 CHECK (times_redeemed >= 0),
    redeem_by            timestamptz,
    -- NULL: every line; otherwise only lines of these prices.
    applies_to_price_ids uuid[],
    archived_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK ((percent_off IS NULL) <> (amount_off IS NULL)),
    CHECK ((amount_off IS NULL) = (currency IS NULL)),
    CHECK ((duration = 'REPEATING') = (duration_periods IS NOT NULL)),
    CHECK (max_redemptions IS NULL OR times_redeemed <= max_redemptions)
);
-- A code names one coupon that can still be redeemed; an archived coupon's
-- code may be used again.
CREATE UNIQUE INDEX coupons_code ON coupons (tenant_id, code) WHERE archived_at IS NULL;

-- A coupon redeemed for a customer (every invoice it pays) or a subscription
-- (that subscription's invoices).
CREATE TABLE discounts (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    coupon_id       uuid        NOT NULL,
    customer_id     uuid,
    subscription_id uuid,
    -- Finalized invoices it has reduced: ONCE and REPEATING end when this
    -- reaches their number of periods.
    periods_applied integer     NOT NULL DEFAULT 0 CHECK (periods_applied >= 0),
    removed_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, coupon_id) REFERENCES coupons (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id),
    CHECK ((customer_id IS NULL) <> (subscription_id IS NULL))
);
CREATE INDEX discounts_customer ON discounts (tenant_id, customer_id, id) WHERE customer_id IS NOT NULL;
CREATE INDEX discounts_subscription ON discounts (tenant_id, subscription_id, id) WHERE subscription_id IS NOT NULL;
-- A coupon is applied to the same customer or subscription once at a time.
CREATE UNIQUE INDEX discounts_customer_coupon ON discounts (tenant_id, customer_id, coupon_id)
    WHERE customer_id IS NOT NULL AND removed_at IS NULL;
CREATE UNIQUE INDEX discounts_subscription_coupon ON discounts (tenant_id, subscription_id, coupon_id)
    WHERE subscription_id IS NOT NULL AND removed_at IS NULL;

CREATE TABLE tax_rates (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    name        text        NOT NULL,
    percentage  numeric     NOT NULL CHECK (percentage >= 0 AND percentage <= 100),
    -- Inclusive: carved out of the line amounts; exclusive: added to them.
    inclusive   boolean     NOT NULL,
    -- Where it applies by the customer's address; NULL: only when set explicitly.
    country     text        CHECK (country ~ '^[A-Z]{2}$'),
    state       text,
    description text,
    archived_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK (state IS NULL OR country IS NOT NULL)
);
CREATE INDEX tax_rates_region ON tax_rates (tenant_id, country, state) WHERE archived_at IS NULL;

-- Rates set explicitly for a customer; when it has any, its address is not consulted.
CREATE TABLE customer_tax_rates (
    tenant_id   uuid    NOT NULL,
    customer_id uuid    NOT NULL,
    tax_rate_id uuid    NOT NULL,
    position    integer NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, tax_rate_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, tax_rate_id) REFERENCES tax_rates (tenant_id, id)
);

-- An invoice's discounts and taxes, computed when its lines are and frozen
-- at finalization (with the rates as they were then).
--   total = subtotal - discount_total + tax_added - credits
-- tax_total is every tax shown; tax_added the exclusive part of it (the
-- inclusive part is already inside the line amounts).
ALTER TABLE invoices
    ADD COLUMN discount_total numeric NOT NULL DEFAULT 0 CHECK (discount_total >= 0),
    ADD COLUMN tax_total      numeric NOT NULL DEFAULT 0,
    ADD COLUMN tax_added      numeric NOT NULL DEFAULT 0,
    -- Who it was issued to and by, as they were at finalization, so a later
    -- change of address never alters an issued document.
    ADD COLUMN billed_to      jsonb,
    ADD COLUMN issued_by      jsonb,
    DROP CONSTRAINT invoices_credit_notes_within_charge,
    ADD CONSTRAINT invoices_credit_notes_within_charge
        CHECK (credit_note_total <= GREATEST(subtotal - discount_total + tax_added, 0));

ALTER TABLE invoice_line_items
    ADD COLUMN discount_amount numeric NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
    -- Every tax on the line, and the exclusive part of it.
    ADD COLUMN tax_amount      numeric NOT NULL DEFAULT 0,
    ADD COLUMN tax_added       numeric NOT NULL DEFAULT 0;

CREATE TABLE invoice_discounts (
    tenant_id   uuid    NOT NULL,
    invoice_id  uuid    NOT NULL,
    discount_id uuid    NOT NULL,
    coupon_id   uuid    NOT NULL,
    position    integer NOT NULL,
    -- The coupon's name and code as they were.
    description text    NOT NULL,
    amount      numeric NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (tenant_id, invoice_id, discount_id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, discount_id) REFERENCES discounts (tenant_id, id),
    FOREIGN KEY (tenant_id, coupon_id) REFERENCES coupons (tenant_id, id)
);
CREATE INDEX invoice_discounts_discount ON invoice_discounts (tenant_id, discount_id);

CREATE TABLE invoice_line_discounts (
    tenant_id    uuid    NOT NULL,
    invoice_id   uuid    NOT NULL,
    line_item_id uuid    NOT NULL,
    discount_id  uuid    NOT NULL,
    amount       numeric NOT NULL CHECK (amount > 0),
    PRIMARY KEY (tenant_id, invoice_id, line_item_id, discount_id),
    FOREIGN KEY (tenant_id, invoice_id, discount_id) REFERENCES invoice_discounts (tenant_id, invoice_id, discount_id),
    FOREIGN KEY (tenant_id, line_item_id) REFERENCES invoice_line_items (tenant_id, id)
);

CREATE TABLE invoice_taxes (
    tenant_id      uuid    NOT NULL,
    invoice_id     uuid    NOT NULL,
    tax_rate_id    uuid    NOT NULL,
    position       integer NOT NULL,
    -- The rate as it was.
    name           text    NOT NULL,
    percentage     numeric NOT NULL,
    inclusive      boolean NOT NULL,
    taxable_amount numeric NOT NULL,
    amount         numeric NOT NULL,
    PRIMARY KEY (tenant_id, invoice_id, tax_rate_id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, tax_rate_id) REFERENCES tax_rates (tenant_id, id)
);

CREATE TABLE invoice_line_taxes (
    tenant_id    uuid    NOT NULL,
    invoice_id   uuid    NOT NULL,
    line_item_id uuid    NOT NULL,
    tax_rate_id  uuid    NOT NULL,
    amount       numeric NOT NULL,
    PRIMARY KEY (tenant_id, invoice_id, line_item_id, tax_rate_id),
    FOREIGN KEY (tenant_id, invoice_id, tax_rate_id) REFERENCES invoice_taxes (tenant_id, invoice_id, tax_rate_id),
    FOREIGN KEY (tenant_id, line_item_id) REFERENCES invoice_line_items (tenant_id, id)
);

-- The part of a credit note that reverses tax, in proportion to what it credits.
ALTER TABLE credit_notes ADD COLUMN tax_amount numeric NOT NULL DEFAULT 0;
CREATE TABLE credit_note_taxes (
    tenant_id      uuid    NOT NULL,
    credit_note_id uuid    NOT NULL,
    tax_rate_id    uuid    NOT NULL,
    name           text    NOT NULL,
    percentage     numeric NOT NULL,
    inclusive      boolean NOT NULL,
    amount         numeric NOT NULL,
    PRIMARY KEY (tenant_id, credit_note_id, tax_rate_id),
    FOREIGN KEY (tenant_id, credit_note_id) REFERENCES credit_notes (tenant_id, id),
    FOREIGN KEY (tenant_id, tax_rate_id) REFERENCES tax_rates (tenant_id, id)
);
