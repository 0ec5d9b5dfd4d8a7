//! HTTP client for the Defentry CRM API. TODO(helper).
