//! defentry-mock: a faithful offline stand-in for the Defentry CRM API. TODO(helper).
