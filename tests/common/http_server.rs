//! A small local HTTP server for tests: fixed bodies by path prefix, counted requests, an
//! optional delay (to play a slow service).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct HttpServer {
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl HttpServer {
    /// Serve each `(path prefix, body)`; anything else is 404. Answers after `delay`.
    pub fn start(routes: Vec<(String, String)>, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let routes: Arc<BTreeMap<String, String>> = Arc::new(routes.into_iter().collect());
        let s = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, routes) = (s.clone(), routes.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    s.lock().unwrap().push(path.clone());
                    loop {
                        let mut l = String::new();
                        if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                            break;
                        }
                    }
                    std::thread::sleep(delay);
                    let body = routes.iter().rev().find(|(p, _)| path.starts_with(p.as_str())).map(|(_, b)| b.clone());
                    let (status, body) = match body {
                        Some(b) => ("200 OK", b),
                        None => ("404 Not Found", "not found".to_string()),
                    };
                    let mut out = stream;
                    let _ = write!(
                        out,
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        HttpServer { url, seen }
    }

    pub fn hits(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn paths(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}
