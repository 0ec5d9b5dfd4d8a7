//! The request log `GET /_mock/requests` shows: method, path, status, time; never bodies or headers.

use super::records::RequestRecord;
use super::state::Store;
use crate::time::rfc3339;

impl Store {
    /// Appends to the request log, dropping the oldest entry beyond the limit.
    pub fn record_request(&mut self, method: &str, path: &str, status: u16) {
        let at = rfc3339(self.now());
        self.requests.push_back(RequestRecord {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            at,
        });
        while self.requests.len() > self.request_log_limit {
            self.requests.pop_front();
        }
    }

    /// The request log, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.requests.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::*;

    #[test]
    fn request_log_is_bounded() {
        let (mut s, _) = store_with(|c| c.request_log_limit = 2);
        for status in [200, 401, 422] {
            s.record_request("POST", "/p", status);
        }
        let statuses: Vec<u16> = s.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![401, 422]);
    }
}
