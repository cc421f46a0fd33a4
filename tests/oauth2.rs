//! Test harness: a loopback OAuth2 issuer. It answers the client-credentials grant
//! (POST /TENANT/token) with bearer tokens, and RFC 7662 introspection (POST /introspect)
//! for Dovecot's oauth2 passdb, so XOAUTH2 runs end to end: slaclaim gets a token here,
//! Dovecot asks here whether it is good.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the issuer has seen and decided.
#[derive(Debug, Default)]
pub struct State {
    /// Every token request's form fields.
    pub token_requests: Vec<HashMap<String, String>>,
    /// Tokens issued, in order.
    pub issued: Vec<String>,
    /// Tokens no longer accepted (expired or revoked).
    pub revoked: Vec<String>,
    /// Introspection requests answered.
    pub introspections: usize,
}

/// A running issuer on a free loopback port; it lives as long as the test process.
pub struct Issuer {
    /// Its port.
    pub port: u16,
    /// The only client secret it accepts.
    pub secret: String,
    state: Arc<Mutex<State>>,
}

impl Issuer {
    /// Starts the issuer accepting client id "slaclaim" with `secret`.
    pub fn start(secret: &str) -> Issuer {
        Issuer::start_on(0, secret).unwrap()
    }

    /// Starts the issuer on `port` (0 for any free one): an endpoint that was down comes
    /// back where the configuration points.
    pub fn start_on(port: u16, secret: &str) -> std::io::Result<Issuer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let (shared, secret_owned) = (state.clone(), secret.to_string());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, secret) = (shared.clone(), secret_owned.clone());
                std::thread::spawn(move || serve(stream, &state, &secret));
            }
        });
        Ok(Issuer {
            port,
            secret: secret.to_string(),
            state,
        })
    }

    /// The token endpoint, with `{tenant}` left for slaclaim to fill in.
    pub fn token_url(&self) -> String {
        format!("http://127.0.0.1:{}/{{tenant}}/token", self.port)
    }

    /// The `[oauth2]` keys of an IMAP or SMTP config that gets its tokens here with the
    /// client secret in `secret_file`.
    pub fn config_keys(&self, secret_file: &std::path::Path) -> String {
        oauth2_keys(&self.token_url(), secret_file)
    }

    /// The introspection endpoint, for Dovecot.
    pub fn introspection_url(&self) -> String {
        format!("http://127.0.0.1:{}/introspect", self.port)
    }

    /// Makes every token issued so far invalid, as expiry would.
    pub fn expire_all(&self) {
        let mut s = self.lock();
        let issued = s.issued.clone();
        s.revoked.extend(issued);
    }

    /// A look at the state.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The `[oauth2]` keys for a token endpoint at `token_url`, which may be down.
pub fn oauth2_keys(token_url: &str, secret_file: &std::path::Path) -> String {
    format!(
        "tenant = \"contoso.onmicrosoft.com\"\nclient-id = \"slaclaim\"\nclient-secret-file = \"{}\"\ntoken-url = \"{token_url}\"\n",
        secret_file.display()
    )
}

/// One request, one answer, then the connection closes.
fn serve(stream: TcpStream, state: &Mutex<State>, secret: &str) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let form = parse_form(&String::from_utf8_lossy(&body));
    let path = request_line.split_whitespace().nth(1).unwrap_or_default();
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    let (status, json) = if path.ends_with("/token") {
        s.token_requests.push(form.clone());
        let good = form.get("grant_type").map(String::as_str) == Some("client_credentials")
            && form.get("client_id").map(String::as_str) == Some("slaclaim")
            && form.get("client_secret").map(String::as_str) == Some(secret);
        if good {
            let token = format!("tok-{}", s.issued.len() + 1);
            s.issued.push(token.clone());
            (
                "200 OK",
                format!(r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{token}"}}"#),
            )
        } else {
            (
                "401 Unauthorized",
                r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#.to_string(),
            )
        }
    } else if path == "/introspect" {
        s.introspections += 1;
        let token = form.get("token").cloned().unwrap_or_default();
        let active = s.issued.contains(&token) && !s.revoked.contains(&token);
        (
            "200 OK",
            if active {
                r#"{"active":true,"username":"alice"}"#.to_string()
            } else {
                r#"{"active":false}"#.to_string()
            },
        )
    } else {
        ("404 Not Found", "{}".to_string())
    };
    drop(s);
    let _ = write!(
        writer,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
}

/// application/x-www-form-urlencoded into a map.
fn parse_form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
