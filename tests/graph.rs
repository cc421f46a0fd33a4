//! Microsoft's record, against a loopback stand-in for login.microsoftonline.com and
//! graph.microsoft.com over TLS (a test certificate, trusted through `[graph] ca-file`),
//! answering in the documented shapes: the client-credentials token per tenant, and
//! serviceHealthIssue for the incident IDs below (PascalCase and camelCase enums, a 429
//! first, a 404, an advisory, an incident whose window differs from the customer's).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use slaclaim::ledger::ingest::Outcome;
use tokio_rustls::rustls;

use crate::mailout::{cycle, eml_files, ingest, parse};
use crate::trust::{CUSTOMER, TENANT, now, passed};

/// What the stand-in saw.
#[derive(Default)]
struct Seen {
    /// (method, path) of every request.
    requests: Vec<(String, String)>,
    /// Requests for TM4409123 so far (the first is throttled).
    throttled_once: bool,
    /// The app certificate's RSA public key (PKCS#1 DER) and SHA-1 thumbprint, when a
    /// test signs in with a certificate.
    app_key: Option<(Vec<u8>, Vec<u8>)>,
}

/// Whether a client assertion is one Entra ID would take: signed RS256 by the app's key,
/// its thumbprint in x5t, the app as issuer and subject, this endpoint as audience.
fn assertion_holds(jwt: &str, path: &str, key: &Option<(Vec<u8>, Vec<u8>)>) -> bool {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Some((public, thumbprint)) = key else {
        return false;
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return false;
    };
    let decode = |p: &str| b64.decode(p).ok();
    let (Some(h), Some(c), Some(sig)) = (decode(header), decode(claims), decode(signature)) else {
        return false;
    };
    let (Ok(h), Ok(c)) = (
        serde_json::from_slice::<Value>(&h),
        serde_json::from_slice::<Value>(&c),
    ) else {
        return false;
    };
    let signed = format!("{header}.{claims}");
    let verified = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public,
    )
    .verify(signed.as_bytes(), &sig)
    .is_ok();
    verified
        && h["alg"] == "RS256"
        && h["x5t"]
            .as_str()
            .and_then(|t| b64.decode(t).ok())
            .as_deref()
            == Some(thumbprint.as_slice())
        && c["iss"] == c["sub"]
        && c["aud"].as_str().is_some_and(|a| a.ends_with(path))
        && c["exp"].as_i64() > c["nbf"].as_i64()
}

/// The stand-in: one TLS port for both origins.
struct StandIn {
    port: u16,
    dir: std::path::PathBuf,
    seen: Arc<Mutex<Seen>>,
}

const SECRET: &str = "graph-app-secret";

/// The serviceHealthIssue the stand-in has for `id`, as JSON text.
fn issue(id: &str) -> Option<String> {
    let ok = Some;
    match id {
        // The customer's Teams incident, camelCase as Graph's v1.0 answers, resolved.
        "TM4409123" => ok(format!(
            r#"{{"id":"{id}","title":"Users couldn't join Teams meetings","classification":"incident","status":"serviceRestored","service":"Microsoft Teams","feature":"Meetings","startDateTime":"2026-11-05T11:50:00Z","endDateTime":"2026-11-05T15:00:00Z","isResolved":true,"impactDescription":"Users may have been unable to join Teams meetings.","posts":[{{"postType":"regular"}},{{"postType":"incidentReport"}}]}}"#
        )),
        // PascalCase enums, as Microsoft's own example shows them; an advisory.
        "EX5512345" => ok(format!(
            r#"{{"Id":"{id}","Classification":"Advisory","Status":"ServiceDegradation","Service":"Exchange Online","StartDateTime":"2026-11-04T08:00:00Z","EndDateTime":"2026-11-04T09:30:00Z","IsResolved":true,"ImpactDescription":"Some users may see delays."}}"#
        )),
        // An incident that ended before the customer's window began.
        "SP7700111" => ok(format!(
            r#"{{"id":"{id}","classification":"incident","status":"serviceRestored","service":"SharePoint Online","startDateTime":"2026-11-03T06:00:00Z","endDateTime":"2026-11-03T07:00:00Z","isResolved":true}}"#
        )),
        _ => None,
    }
}

fn respond(stream: &mut impl Write, code: u16, headers: &[(&str, String)], body: &str) {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let mut head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

fn serve(stream: std::net::TcpStream, tls: Arc<rustls::ServerConfig>, seen: &Mutex<Seen>) {
    let Ok(conn) = rustls::ServerConnection::new(tls) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let mut reader = BufReader::new(&mut tls);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    drop(reader);
    let mut parts = request_line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    seen.lock()
        .unwrap()
        .requests
        .push((method.clone(), path.clone()));
    if method == "POST" && path.ends_with("/oauth2/v2.0/token") {
        let form = String::from_utf8_lossy(&body).to_string();
        let tenant = path.trim_start_matches('/').split('/').next().unwrap_or("");
        let scope = form.contains("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default");
        let ok = scope
            && (form.contains(&format!("client_secret={SECRET}"))
                || form
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("client_assertion="))
                    .is_some_and(|jwt| assertion_holds(jwt, &path, &seen.lock().unwrap().app_key)));
        if ok {
            respond(
                &mut tls,
                200,
                &[],
                &format!(
                    r#"{{"access_token":"token-for-{tenant}","expires_in":3600,"token_type":"Bearer"}}"#
                ),
            );
        } else {
            respond(
                &mut tls,
                401,
                &[],
                r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
            );
        }
        return;
    }
    if method == "GET" && path.ends_with("/v2.0/.well-known/openid-configuration") {
        let domain = path.trim_start_matches('/').split('/').next().unwrap_or("");
        if domain == CUSTOMER {
            let issuer = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
            respond(
                &mut tls,
                200,
                &[],
                &format!(
                    r#"{{"issuer":"{issuer}","token_endpoint":"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"}}"#
                ),
            );
        } else {
            respond(
                &mut tls,
                400,
                &[],
                r#"{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant not found."}"#,
            );
        }
        return;
    }
    let prefix = "/v1.0/admin/serviceAnnouncement/issues/";
    if method == "GET" && path.starts_with(prefix) {
        let auth = headers.get("authorization").cloned().unwrap_or_default();
        if !auth.starts_with("Bearer token-for-") {
            respond(
                &mut tls,
                401,
                &[],
                r#"{"error":{"code":"InvalidAuthenticationToken"}}"#,
            );
            return;
        }
        if auth != format!("Bearer token-for-{TENANT}") {
            // Another tenant has not granted the app the permission.
            respond(
                &mut tls,
                403,
                &[],
                r#"{"error":{"code":"Forbidden","message":"Missing role permissions on the request."}}"#,
            );
            return;
        }
        let id = &path[prefix.len()..];
        if id == "TM4409123" {
            let mut s = seen.lock().unwrap();
            if !s.throttled_once {
                s.throttled_once = true;
                drop(s);
                respond(
                    &mut tls,
                    429,
                    &[("Retry-After", "1".to_string())],
                    r#"{"error":{"code":"TooManyRequests"}}"#,
                );
                return;
            }
        }
        match issue(id) {
            Some(body) => respond(&mut tls, 200, &[], &body),
            None => respond(
                &mut tls,
                404,
                &[],
                r#"{"error":{"code":"NotFound","message":"Not found"}}"#,
            ),
        }
        return;
    }
    respond(&mut tls, 404, &[], "{}");
}

impl StandIn {
    fn start(name: &str) -> StandIn {
        use rustls_pki_types::pem::PemObject;
        let dir = crate::util::temp_dir(name);
        crate::dovecot::make_cert(&dir);
        let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_file_iter(dir.join("cert.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = rustls_pki_types::PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
        let tls = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (tls, seen) = (tls.clone(), shared.clone());
                std::thread::spawn(move || serve(stream, tls, &seen));
            }
        });
        StandIn { port, dir, seen }
    }

    /// The `[graph]` table pointing at the stand-in.
    fn config(&self) -> String {
        std::fs::write(self.dir.join("graph-secret"), SECRET).unwrap();
        format!(
            "[graph]\nclient-id = \"6d1e5c1a-0000-4000-8000-000000000001\"\nclient-secret-file = \"{}\"\nlogin-url = \"https://localhost:{port}\"\ngraph-url = \"https://127.0.0.1:{port}\"\nca-file = \"{}\"\ntimeout-secs = 5\n",
            self.dir.join("graph-secret").display(),
            self.dir.join("cert.pem").display(),
            port = self.port
        )
    }
}

/// The trust tests' config, with `[graph]` added.
fn config(dir: &std::path::Path, graph: &str) -> slaclaim::app::config::Config {
    crate::trust::config(
        dir,
        &format!(
            "[trust]\nauthserv-ids = [\"{}\"]\n{graph}",
            crate::trust::OURS
        ),
    )
}

/// A request for `incident` in SLA-n, with the customer's window 5 November 13:10-15:40 CET.
fn request(incident: &str, n: u32) -> String {
    format!(
        "{}From: Ilse Vos <ilse.vos@{CUSTOMER}>\r\nTo: support@cloudwise-partners.example\r\nSubject: SLA credit request {incident}\r\nDate: Mon, 09 Nov 2026 09:00:00 +0100\r\nMessage-ID: <graph-{n}@{CUSTOMER}>\r\n\r\nWe want to claim an SLA credit for Microsoft incident {incident}.\r\nOur tenant ID is {TENANT}.\r\nIt was down on 5 November 2026 from 13:10 to 15:40 CET; 38 users in Zwolle.\r\nBought through CSP: yes. Ticket 88{n}.\r\n\r\nIlse Vos\r\n+31 38 555 0142\r\n",
        passed(CUSTOMER)
    )
}

fn verify_json(dir: &std::path::Path, config: &str, ticket: &str) -> Value {
    let path = dir.join("graph.toml");
    std::fs::write(&path, config).unwrap();
    let out = crate::util::slaclaim_ok([
        "--config",
        path.to_str().unwrap(),
        "--state-dir",
        dir.join("state").to_str().unwrap(),
        "verify",
        ticket,
        "--json",
    ]);
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn verify_reads_an_incident_an_advisory_a_mismatch_and_not_found_and_waits_out_a_429() {
    let graph = StandIn::start("graph-verify");
    let dir = crate::util::temp_dir("graph-verify-state");
    let cfg = config(&dir, &graph.config());
    let mut store = crate::util::store(&dir);
    for (n, incident) in ["TM4409123", "EX5512345", "SP7700111", "TM4400000"]
        .iter()
        .enumerate()
    {
        let out = ingest(
            &mut store,
            &cfg,
            request(incident, n as u32 + 1).as_bytes(),
            now(),
        );
        assert!(matches!(out, Outcome::NewTicket { .. }), "{out:?}");
    }
    drop(store);
    let file_config = format!(
        "[outbox]\nfrom = \"slaclaim@cloudwise-partners.example\"\ntransport = \"file\"\ndir = \"{}\"\n{}",
        dir.join("outbox").display(),
        graph.config()
    );
    // The incident: found after one 429 (Retry-After: 1) within the same run.
    let v = verify_json(&dir, &file_config, "SLA-1");
    assert_eq!(v["found"], true, "{v}");
    assert_eq!(v["classification"], "incident");
    assert_eq!(v["service"], "Microsoft Teams");
    assert_eq!(v["start"], "2026-11-05T11:50:00Z");
    assert_eq!(v["end"], "2026-11-05T15:00:00Z");
    assert_eq!(v["customer_start"], "2026-11-05T12:10:00Z");
    assert_eq!(v["window_overlaps"], true);
    assert_eq!(v["error"], Value::Null);
    assert!(v["report"].is_string(), "{v}");
    assert!(graph.seen.lock().unwrap().throttled_once);
    // PascalCase enums read alike; an advisory.
    let v = verify_json(&dir, &file_config, "SLA-2");
    assert_eq!(
        (v["found"].as_bool(), v["classification"].as_str()),
        (Some(true), Some("advisory")),
        "{v}"
    );
    // Microsoft's window ended two days before the customer's.
    let v = verify_json(&dir, &file_config, "SLA-3");
    assert_eq!(v["window_overlaps"], false, "{v}");
    // Not in this tenant.
    let v = verify_json(&dir, &file_config, "SLA-4");
    assert_eq!(v["found"], false, "{v}");
    assert_eq!(v["error"], Value::Null);
    // One token per tenant, reused.
    let tokens = graph
        .seen
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|(m, p)| m == "POST" && p == &format!("/{TENANT}/oauth2/v2.0/token"))
        .count();
    assert_eq!(tokens, 4, "a new process per verify, one token each");
}

#[tokio::test]
async fn every_new_claim_shows_microsofts_record_in_its_draft_and_failures_do_not_block_it() {
    let graph = StandIn::start("graph-draft");
    let dir = crate::util::temp_dir("graph-draft-state");
    let cfg = config(&dir, &graph.config());
    let mut store = crate::util::store(&dir);
    ingest(&mut store, &cfg, request("EX5512345", 1).as_bytes(), now());
    // The first draft waits for the record: nothing yet.
    let (queued, _) = cycle(&mut store, &cfg, now()).await;
    assert_eq!(queued, 0, "the first draft waits for Microsoft's record");
    let client = slaclaim::inbound::graph::Graph::new(cfg.graph.clone().unwrap()).unwrap();
    assert_eq!(client.verify_due(&store, now(), 20).unwrap(), 1);
    assert_eq!(
        client.verify_due(&store, now(), 20).unwrap(),
        0,
        "resolved: settled"
    );
    cycle(&mut store, &cfg, now()).await;
    let drafts: Vec<_> = eml_files(&dir.join("outbox"))
        .iter()
        .map(|r| parse(r))
        .collect();
    assert_eq!(drafts.len(), 1);
    let text = &drafts[0].text;
    assert!(
        text.contains("Microsoft's record (Graph service health):"),
        "{text}"
    );
    assert!(
        text.contains("EX5512345: advisory in Exchange Online"),
        "{text}"
    );
    assert!(
        text.contains("LIKELY INELIGIBLE: Microsoft classifies it as an advisory"),
        "{text}"
    );
    assert!(text.contains("Some users may see delays."), "{text}");
    // The claim is flagged for staff, not closed.
    assert!(
        text.contains("STAFF REVIEW NEEDED: Microsoft's record: likely ineligible"),
        "{text}"
    );
    assert!(!store.all_claims().unwrap()[0].status.is_final());

    // A tenant that has not consented: the failure is recorded and shown, the draft
    // goes out anyway, and the check is retried later, not at once.
    let other = "0b6f6a58-2c1d-4f2e-9a77-3c5d0e1f2a3b";
    let raw = request("TM4409123", 2)
        .replace(TENANT, other)
        .replace("graph-2@", "graph-2b@");
    ingest(&mut store, &cfg, raw.as_bytes(), now());
    assert_eq!(client.verify_due(&store, now(), 20).unwrap(), 1);
    assert_eq!(
        client.verify_due(&store, now(), 20).unwrap(),
        0,
        "backed off"
    );
    let claim = store
        .all_claims()
        .unwrap()
        .into_iter()
        .find(|c| c.tenant_id == other)
        .unwrap();
    let check = store.graph_check(claim.id).unwrap().unwrap();
    assert_eq!(check.outcome, "denied");
    assert!(
        check
            .error
            .as_deref()
            .unwrap()
            .contains("ServiceHealth.Read.All"),
        "{check:?}"
    );
    cycle(&mut store, &cfg, now()).await;
    let drafts: Vec<_> = eml_files(&dir.join("outbox"))
        .iter()
        .map(|r| parse(r))
        .collect();
    let second = drafts
        .iter()
        .find(|d| d.subject.contains("TM4409123"))
        .expect("the draft goes out");
    assert!(
        second.text.contains("not known yet: Graph refused (403)"),
        "{}",
        second.text
    );
    assert_eq!(
        store.graph_outcomes().unwrap(),
        vec![("denied".to_string(), 1), ("found".to_string(), 1)]
    );
}

#[tokio::test]
async fn a_claim_without_a_tenant_gets_its_domains_tenant_marked_as_derived() {
    let graph = StandIn::start("graph-derive");
    let dir = crate::util::temp_dir("graph-derive-state");
    let cfg = config(&dir, &graph.config());
    let mut store = crate::util::store(&dir);
    let raw = request("TM4409123", 1).replace(&format!("Our tenant ID is {TENANT}.\r\n"), "");
    ingest(&mut store, &cfg, raw.as_bytes(), now());
    assert_eq!(store.all_claims().unwrap()[0].tenant_id, "");
    let client = slaclaim::inbound::graph::Graph::new(cfg.graph.clone().unwrap()).unwrap();
    assert_eq!(
        client.verify_due(&store, now(), 20).unwrap(),
        1,
        "derived, then checked"
    );
    let c = store.all_claims().unwrap().remove(0);
    assert_eq!(c.tenant_id, TENANT);
    // The daemon's path tries once: the stand-in's first answer is a 429, recorded, and
    // the claim is due again later, not at once.
    assert_eq!(
        store.graph_check(c.id).unwrap().unwrap().outcome,
        "throttled"
    );
    assert_eq!(client.verify_due(&store, now(), 20).unwrap(), 0);
    let later = now() + chrono::Duration::minutes(6);
    assert_eq!(client.verify_due(&store, later, 20).unwrap(), 1);
    assert_eq!(store.graph_check(c.id).unwrap().unwrap().outcome, "found");
    assert_eq!(
        store
            .tenant_of_domain(CUSTOMER)
            .unwrap()
            .unwrap()
            .0
            .as_deref(),
        Some(TENANT)
    );
    cycle(&mut store, &cfg, now()).await;
    let drafts: Vec<_> = eml_files(&dir.join("outbox"))
        .iter()
        .map(|r| parse(r))
        .collect();
    let text = &drafts[0].text;
    assert!(
        text.contains("Derived by slaclaim (check before you submit):"),
        "{text}"
    );
    assert!(
        text.contains(&format!("derived from {CUSTOMER}'s OpenID issuer")),
        "{text}"
    );
    assert!(!text.contains("Set by staff"), "{text}");
}

#[test]
fn check_config_online_fetches_a_token_for_the_customers_tenant() {
    let graph = StandIn::start("graph-check-config");
    let dir = crate::util::temp_dir("graph-check-config-state");
    let path = dir.join("slaclaim.toml");
    let write = |graph_table: &str| {
        std::fs::write(
            &path,
            format!(
                "[[maildir]]\npath = \"{}\"\n[outbox]\nfrom = \"slaclaim@cloudwise-partners.example\"\ndir = \"{}\"\n[drafts]\nhelpdesk = [\"helpdesk@cloudwise-partners.example\"]\n[reminders]\nmanagers = [\"manager@cloudwise-partners.example\"]\n[staff]\naddresses = [\"staff@cloudwise-partners.example\"]\n[[customer]]\ntenant = \"{TENANT}\"\nname = \"Kestrel Logistics\"\n{graph_table}",
                dir.join("maildir").display(),
                dir.join("outbox").display()
            ),
        )
        .unwrap();
    };
    let check = || {
        let out = crate::util::slaclaim([
            "--config",
            path.to_str().unwrap(),
            "check-config",
            "--online",
        ]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    write(&graph.config());
    let (code, text) = check();
    assert_eq!(code, Some(0), "{text}");
    // A wrong secret: the login's refusal is named, the secret never is.
    std::fs::write(graph.dir.join("graph-secret-wrong"), "not-it").unwrap();
    write(
        &graph
            .config()
            .replace("graph-secret\"", "graph-secret-wrong\""),
    );
    std::fs::write(graph.dir.join("graph-secret-wrong"), "not-it").unwrap();
    let (code, text) = check();
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("login for tenant") && text.contains("AADSTS7000215"),
        "{text}"
    );
    assert!(!text.contains("not-it"), "{text}");
}

#[test]
fn a_certificate_signs_in_instead_of_a_secret() {
    let graph = StandIn::start("graph-certificate");
    let app = crate::util::temp_dir("graph-certificate-app");
    crate::dovecot::make_cert(&app);
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let cert = app.join("cert.pem");
    let der = openssl(&["x509", "-in", cert.to_str().unwrap(), "-outform", "DER"]);
    let thumbprint = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der)
        .as_ref()
        .to_vec();
    let public = openssl(&[
        "rsa",
        "-in",
        app.join("key.pem").to_str().unwrap(),
        "-RSAPublicKey_out",
        "-outform",
        "DER",
    ]);
    graph.seen.lock().unwrap().app_key = Some((public, thumbprint));
    let table = graph.config().replace(
        &format!(
            "client-secret-file = \"{}\"",
            graph.dir.join("graph-secret").display()
        ),
        &format!(
            "client-certificate-file = \"{}\"\nclient-key-file = \"{}\"",
            cert.display(),
            app.join("key.pem").display()
        ),
    );
    let config: slaclaim::app::config::Config =
        toml::from_str(&format!("[outbox]\ndir = \"/tmp\"\n{table}")).unwrap();
    let client = slaclaim::inbound::graph::Graph::new(config.graph.unwrap()).unwrap();
    assert_eq!(client.token(TENANT).unwrap(), format!("token-for-{TENANT}"));
    // Another key does not pass.
    let other = crate::util::temp_dir("graph-certificate-other");
    crate::dovecot::make_cert(&other);
    let table = table.replace(
        app.join("key.pem").to_str().unwrap(),
        other.join("key.pem").to_str().unwrap(),
    );
    let config: slaclaim::app::config::Config =
        toml::from_str(&format!("[outbox]\ndir = \"/tmp\"\n{table}")).unwrap();
    let client = slaclaim::inbound::graph::Graph::new(config.graph.unwrap()).unwrap();
    let (outcome, why) = client.token(TENANT).unwrap_err();
    assert_eq!(outcome, "denied");
    assert!(why.contains("AADSTS7000215"), "{why}");
}

#[test]
fn the_daemon_fetches_the_record_before_the_first_draft() {
    let graph = StandIn::start("graph-daemon");
    let dir = crate::util::temp_dir("graph-daemon-state");
    let maildir = dir.join("maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::write(maildir.join("new/1.eml"), request("SP7700111", 1)).unwrap();
    let path = dir.join("slaclaim.toml");
    std::fs::write(
        &path,
        format!(
            "[[maildir]]\npath = \"{}\"\nrescan-secs = 1\n[outbox]\nfrom = \"slaclaim@cloudwise-partners.example\"\ndir = \"{}\"\n[drafts]\nhelpdesk = [\"helpdesk@cloudwise-partners.example\"]\n[reminders]\ndigest = \"\"\n[daemon]\ntick-secs = 1\n[trust]\nauthserv-ids = [\"{}\"]\n{}",
            maildir.display(),
            dir.join("outbox").display(),
            crate::trust::OURS,
            graph.config()
        ),
    )
    .unwrap();
    let mut child = crate::util::command(&dir.join("state"))
        .args([
            "--config",
            path.to_str().unwrap(),
            "--state-dir",
            dir.join("state").to_str().unwrap(),
            "run",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let drafts = || eml_files(&dir.join("outbox"));
    while drafts().is_empty() && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let drafts: Vec<_> = drafts().iter().map(|r| parse(r)).collect();
    assert_eq!(
        drafts.len(),
        1,
        "one draft, not one before and one after the record"
    );
    let text = &drafts[0].text;
    assert!(
        text.contains("SP7700111: incident in SharePoint Online"),
        "{text}"
    );
    assert!(text.contains("(they DO NOT overlap)"), "{text}");
    assert!(
        text.contains("LIKELY INELIGIBLE: the customer's window does not overlap Microsoft's"),
        "{text}"
    );
}

#[test]
fn a_snapshot_of_another_incident_is_not_kept_when_the_claim_is_corrected() {
    let graph = StandIn::start("graph-recheck");
    let dir = crate::util::temp_dir("graph-recheck-state");
    let cfg = config(&dir, &graph.config());
    let mut store = crate::util::store(&dir);
    ingest(&mut store, &cfg, request("EX5512345", 1).as_bytes(), now());
    let client = slaclaim::inbound::graph::Graph::new(cfg.graph.clone().unwrap()).unwrap();
    client.verify_due(&store, now(), 20).unwrap();
    let c = store.all_claims().unwrap().remove(0);
    assert!(store.graph_check(c.id).unwrap().unwrap().snapshot.is_some());
    // Staff correct the incident to one this tenant may not read: the failure must not
    // show the old incident's record under the new ID.
    store
        .set_claim_key(
            c.id,
            "0b6f6a58-2c1d-4f2e-9a77-3c5d0e1f2a3b",
            "TM4409123",
            "2026-11-10T10:00:00Z",
        )
        .unwrap();
    assert_eq!(
        client.verify_due(&store, now(), 20).unwrap(),
        1,
        "a new key is due at once"
    );
    let check = store.graph_check(c.id).unwrap().unwrap();
    assert_eq!(
        (
            check.outcome.as_str(),
            check.snapshot.is_none(),
            check.attempts
        ),
        ("denied", true, 1)
    );
}
