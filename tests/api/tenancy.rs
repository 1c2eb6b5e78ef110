use crate::support::TestApp;
