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
        Self::start_bytes(routes.into_iter().map(|(p, b)| (p, b.into_bytes())).collect(), delay)
    }

    /// Like [`HttpServer::start`] with binary bodies.
    pub fn start_bytes(routes: Vec<(String, Vec<u8>)>, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let routes: Arc<BTreeMap<String, Vec<u8>>> = Arc::new(routes.into_iter().collect());
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
                    let mut out = stream;
                    match body {
                        // A body `REDIRECT <location>` answers 302, like GitHub's releases/latest.
                        Some(b) if b.starts_with(b"REDIRECT ") => {
                            let _ = write!(
                                out,
                                "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                                String::from_utf8_lossy(&b[9..])
                            );
                        }
                        Some(b) => {
                            let _ = out.write_all(
                                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", b.len())
                                    .as_bytes(),
                            );
                            let _ = out.write_all(&b);
                        }
                        None => {
                            let _ = write!(
                                out,
                                "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
                            );
                        }
                    }
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
