DROP TABLE events;
DROP TABLE meters;
