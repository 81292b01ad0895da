"""Delivery to a real SMTP server (aiosmtpd): STARTTLS, implicit TLS, authentication, retries,
the outbox, alerts and health notices."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import reportdata as rd
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlmodel import col, select

from reports import service
from tests.support import free_port
from watcher.store.db import Store
from watcher.store.models import AuditEvent, Report, Space, Verdict

PASSWORD = "correct horse battery staple"
pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning"  # implicit TLS, see SmtpServer
)



@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, made here."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Inbox:
    """What the SMTP server received."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"vigie"
              and auth_data.password == PASSWORD.encode())
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535

    def to(self, address: str) -> list[EmailMessage]:
        return [m for _f, rcpt, m in self.messages if address in rcpt]


class SmtpServer:
    def __init__(self, security: str, certificate: tuple[Path, Path], port: int | None = None):
        self.security = security
        self.port = port or free_port()
        self.inbox = Inbox()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        # aiosmtpd's LOGIN mechanism does not take smtplib's initial response: offer PLAIN.
        auth = {"authenticator": self.inbox.authenticate, "auth_required": True,
                "auth_exclude_mechanism": ["LOGIN"]}
        kwargs: dict[str, Any] = {}
        if security == "starttls":
            kwargs = {"tls_context": context, "require_starttls": True, **auth}
        elif security == "tls":
            # The whole session is TLS already; aiosmtpd only counts STARTTLS as TLS for AUTH.
            kwargs = {"ssl_context": context, "auth_require_tls": False, **auth}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {"host": "localhost", "port": self.port,
                                    "security": self.security, "sender": "vigie@csdlj.example",
                                    "timeout": 10}
        if self.security != "none":
            settings |= {"username": "vigie", "password": "env:VIGIE_TEST_SMTP_PASSWORD"}
        return settings


@pytest.fixture
def trust(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the test certificate trusted as an internal authority would be (SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.setenv("VIGIE_TEST_SMTP_PASSWORD", PASSWORD)


@pytest.fixture(params=["starttls", "tls"])
def smtp(request: pytest.FixtureRequest, certificate: tuple[Path, Path],
         trust: None) -> Iterator[SmtpServer]:
    with SmtpServer(request.param, certificate) as server:
        yield server


def _parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def _norm(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_weekly_digests_delivered_once(store: Store, tmp_path: Path, smtp: SmtpServer) -> None:
    expected = rd.populate(store)
    config = rd.make_config(tmp_path, smtp=smtp.settings())
    # A minute before Monday 08:00 the week due is the one before (not sent yet either).
    assert service.send_due_reports(config, store, rd.DUE - dt.timedelta(minutes=1)) == 3
    assert {m["Subject"].split(" :")[0] for _f, _r, m in smtp.inbox.messages} == {
        "Rapport de vigie, semaine du 9 novembre 2026",
        "Rapport de vigie, École Kénogami, semaine du 9 novembre 2026",
        "Rapport de vigie, Service du secrétariat général et des communications, "
        "semaine du 9 novembre 2026",
    }
    smtp.inbox.messages.clear()
    assert service.send_due_reports(config, store, rd.DUE) == 3
    assert smtp.inbox.logins  # authenticated, over TLS
    # The communications service's digest.
    (comms,) = smtp.inbox.to(rd.COMMS[0])
    assert smtp.inbox.to(rd.COMMS[1]) == [comms]
    assert comms["From"] == "vigie@csdlj.example"
    assert _norm(comms["Subject"]).startswith("Rapport de vigie, semaine du 16 novembre 2026 : 6 ")
    assert comms["Content-Language"] == "fr-CA"
    text, html = _parts(comms)
    text, html = _norm(text), _norm(html)
    for section in ("EN UN COUP D'ŒIL", "ESPACES À SURVEILLER", "COMMENTAIRES PAR CATÉGORIE",
                    "PAR ESPACE", "COMPARAISON AVEC LES QUATRE SEMAINES PRÉCÉDENTES",
                    "ALERTES URGENTES DE LA SEMAINE", "MASQUÉS CETTE SEMAINE",
                    "EN ATTENTE DE RÉVISION"):
        assert section in text, section
    assert f"Nouveaux commentaires : {expected['new']} (+135 %)" in text
    assert "Masqués : 6 (+200 %), 3 en mode observation" in text
    assert "En attente de révision : 4 (2 envoyé(s) cette semaine, dont 1 encore en attente)" in text
    assert "Rétablis par les administrateurs : 1 (nouveau)" in text
    assert "Délai médian entre la publication et le masquage : 25 min" in text
    assert "Kénogami sur Instagram" in text and "8 interrogations sur 10 ont échoué" in text
    assert "Contenu illégal" in text and "CSS De La Jonquière (YouTube)" in text
    assert f"https://vigie.csdlj.example/items/{expected['threat_id']}" in text
    assert "Semaine du 16–22 nov. 2026" in html and "&lt;script&gt;" in html
    assert rd.PHONE not in text and rd.PHONE not in html
    # Each direction gets its own spaces only, at its contacts.
    (kenogami,) = smtp.inbox.to(rd.KENOGAMI[0])
    assert "École Kénogami" in kenogami["Subject"]
    ktext, _khtml = _parts(kenogami)
    assert "Kénogami sur Instagram" in ktext and "YouTube" not in ktext
    (service_digest,) = smtp.inbox.to(rd.SERVICE[0])
    stext, _shtml = _parts(service_digest)
    assert "CSS De La Jonquière (YouTube)" in stext and "Kénogami" not in stext
    # Archived as sent; the schedule sends each week once.
    with store.session() as session:
        reports = list(session.exec(select(Report).order_by(col(Report.id))))
    assert [(r.kind, r.period, r.scope, r.status, r.attempts) for r in reports[3:]] == [
        ("weekly", "2026-W47", "", "sent", 1),
        ("direction", "2026-W47", "École Kénogami", "sent", 1),
        ("direction", "2026-W47", "Service du secrétariat général et des communications",
         "sent", 1),
    ]
    assert reports[3].recipients == rd.COMMS
    assert _parts(comms)[1].replace("\r\n", "\n") == reports[3].html  # sent = archived
    assert service.send_due_reports(config, store, rd.DUE + dt.timedelta(hours=1)) == 0
    assert len(smtp.inbox.messages) == 3


def test_weeks_before_the_vigil_are_not_reported(store: Store, tmp_path: Path) -> None:
    with store.session() as session:
        rd.add_spaces(session)
        for space in session.exec(select(Space)):
            space.created_at = rd.DUE - dt.timedelta(days=1)  # installed last Sunday
            session.add(space)
    config = rd.make_config(tmp_path)
    assert service.send_due_reports(config, store, rd.DUE - dt.timedelta(minutes=1)) == 0
    assert service.send_due_reports(config, store, rd.DUE) == 3


def test_dead_server_is_retried_and_nothing_is_lost(
    store: Store, tmp_path: Path, certificate: tuple[Path, Path], trust: None
) -> None:
    rd.populate(store)
    port = free_port()  # nothing listens here yet
    settings = {"host": "localhost", "port": port, "security": "starttls", "username": "vigie",
                "password": "env:VIGIE_TEST_SMTP_PASSWORD", "sender": "vigie@csdlj.example",
                "timeout": 5, "max_attempts": 4}
    config = rd.make_config(tmp_path, smtp=settings)
    assert service.send_due_reports(config, store, rd.DUE) == 0
    assert service.send_pending_alerts(config, store, rd.DUE) == 0
    with store.session() as session:
        reports = list(session.exec(select(Report).order_by(col(Report.id))))
        threat = session.exec(select(Verdict).where(col(Verdict.alert).is_(True))).one()
    assert len(reports) == 4  # three digests and one alert, all kept
    for report in reports:
        assert report.status == "failed" and report.attempts == 1
        assert f"localhost:{port}" in (report.last_error or "")
        assert "injoignable" in (report.last_error or "")
        assert report.next_attempt_at == rd.DUE + dt.timedelta(minutes=1)
    assert threat.alert_sent_at is None
    # Not due yet: nothing is tried.
    assert service.send_due_reports(config, store, rd.DUE + dt.timedelta(seconds=30)) == 0
    # Second failure: the delay grows.
    later = rd.DUE + dt.timedelta(minutes=1)
    assert service.send_due_reports(config, store, later) == 0
    with store.session() as session:
        weekly = session.get(Report, reports[0].id)
    assert weekly is not None and weekly.attempts == 2
    assert weekly.next_attempt_at == later + dt.timedelta(minutes=4)
    # The server comes back: everything goes out, the alert is marked sent.
    with SmtpServer("starttls", certificate, port=port) as server:
        back = later + dt.timedelta(minutes=5)
        assert service.send_pending_alerts(config, store, back) == 1
        assert service.send_due_reports(config, store, back) == 3
        assert len(server.inbox.messages) == 4
        (alert,) = [m for _f, _r, m in server.inbox.messages if "URGENT" in m["Subject"]]
        assert "Je vais te tuer" in _parts(alert)[0]
    with store.session() as session:
        statuses = [r.status for r in session.exec(select(Report))]
        threat = session.exec(select(Verdict).where(col(Verdict.alert).is_(True))).one()
    assert statuses == ["sent"] * 4
    assert threat.alert_sent_at == back


def test_attempts_run_out_then_resend(
    store: Store, tmp_path: Path, certificate: tuple[Path, Path], trust: None
) -> None:
    rd.populate(store)
    port = free_port()
    settings = {"host": "127.0.0.1", "port": port, "security": "none",
                "sender": "vigie@csdlj.example", "timeout": 5, "max_attempts": 2}
    config = rd.make_config(tmp_path, smtp=settings, send_direction_digests=False)
    now = rd.DUE
    service.send_due_reports(config, store, now)
    service.send_due_reports(config, store, now + dt.timedelta(minutes=1))
    with store.session() as session:
        (report,) = session.exec(select(Report)).all()
    assert report.status == "failed" and report.attempts == 2 and report.next_attempt_at is None
    assert service.send_due_reports(config, store, now + dt.timedelta(days=1)) == 0
    with SmtpServer("none", certificate, port=port) as server:
        copy = service.resend(config, store, report.id or 0, recipients=["moi@csdlj.example"],
                              now=now + dt.timedelta(days=1))
        assert copy.status == "sent" and copy.id != report.id
        ((sender, recipients, message),) = server.inbox.messages
    assert recipients == ["moi@csdlj.example"] and message["Subject"] == report.subject
    with store.session() as session:
        kinds = [e.kind for e in session.exec(select(AuditEvent))]
    assert "report.resend" in kinds


def test_wrong_password_is_a_clear_error(
    store: Store, tmp_path: Path, certificate: tuple[Path, Path], trust: None,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    rd.populate(store)
    monkeypatch.setenv("VIGIE_TEST_SMTP_PASSWORD", "wrong")
    with SmtpServer("starttls", certificate) as server:
        config = rd.make_config(tmp_path, smtp=server.settings(), send_direction_digests=False)
        assert service.send_due_reports(config, store, rd.DUE) == 0
        assert server.inbox.messages == []
    with store.session() as session:
        (report,) = session.exec(select(Report)).all()
    assert "a refusé le nom d'utilisateur ou le mot de passe (535)" in (report.last_error or "")
    assert "wrong" not in (report.last_error or "")
    monkeypatch.delenv("VIGIE_TEST_SMTP_PASSWORD")
    with SmtpServer("starttls", certificate) as server:
        config = rd.make_config(tmp_path, smtp=server.settings(), send_direction_digests=False)
        service.send_due_reports(config, store, rd.DUE + dt.timedelta(minutes=1))
    with store.session() as session:
        (report,) = session.exec(select(Report)).all()
    assert "VIGIE_TEST_SMTP_PASSWORD" in (report.last_error or "")


def test_untrusted_certificate_is_refused(
    store: Store, tmp_path: Path, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    rd.populate(store)
    monkeypatch.setenv("VIGIE_TEST_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    with SmtpServer("tls", certificate) as server:
        config = rd.make_config(tmp_path, smtp=server.settings(), send_direction_digests=False)
        assert service.send_due_reports(config, store, rd.DUE) == 0
        assert server.inbox.messages == []
    with store.session() as session:
        (report,) = session.exec(select(Report)).all()
    assert "TLS" in (report.last_error or "") and "CERTIFICATE_VERIFY_FAILED" in (
        report.last_error or ""
    )


def test_urgent_alert_sent_at_once_with_evidence(
    store: Store, tmp_path: Path, smtp: SmtpServer
) -> None:
    expected = rd.populate(store)
    config = rd.make_config(tmp_path, smtp=smtp.settings())
    now = rd.MONDAY + dt.timedelta(days=4, minutes=2)  # the poll cycle that found it
    assert service.send_pending_alerts(config, store, now) == 1
    ((_sender, recipients, message),) = smtp.inbox.messages
    assert recipients == rd.KENOGAMI + rd.URGENT
    assert message["Subject"] == (
        "URGENT — Alerte Vigie, École secondaire Kénogami : Contenu illégal"
    )
    text, html = _parts(message)
    url = f"https://vigie.csdlj.example/items/{expected['threat_id']}"
    assert url in text and f'href="{url}"' in html
    assert "Menace de violence — « Je vais te tuer »" in text
    assert "« Je vais te tuer à la sortie »" in text
    assert "Kevin Menace" not in text and "Personne 1" in text
    assert "masquage sur la plateforme (réversible)" in text
    with store.session() as session:
        verdict = session.exec(select(Verdict).where(col(Verdict.alert).is_(True))).one()
        report = session.exec(select(Report)).one()
    assert verdict.alert_sent_at == now
    assert (report.kind, report.period, report.scope, report.status) == (
        "alert", f"comment:{expected['threat_id']}", "kenogami-fb", "sent"
    )
    # Once only.
    assert service.send_pending_alerts(config, store, now + dt.timedelta(minutes=5)) == 0
    assert len(smtp.inbox.messages) == 1


def test_alerts_disabled_send_nothing(store: Store, tmp_path: Path) -> None:
    rd.populate(store)
    data = rd.config_dict(tmp_path)
    data["alerts"]["enabled"] = False
    config = rd.make_config(tmp_path).model_validate(data)
    assert service.send_pending_alerts(config, store, rd.DUE) == 0
    with store.session() as session:
        assert session.exec(select(Report)).all() == []


def test_health_notice_once_per_incident(store: Store, tmp_path: Path, smtp: SmtpServer) -> None:
    rd.populate(store)
    config = rd.make_config(tmp_path, smtp=smtp.settings())
    message = "Le jeton d'accès d'Instagram a été révoqué (<code 190>)."
    service.send_health_notice(config, store, "kenogami-ig", message, rd.DUE)
    service.send_health_notice(config, store, "kenogami-ig", "encore", rd.DUE + dt.timedelta(hours=1))
    ((_sender, recipients, notice),) = smtp.inbox.messages
    assert recipients == rd.SYSADMIN + rd.COMMS
    assert "Kénogami sur Instagram" in notice["Subject"]
    text, html = _parts(notice)
    assert message in text and "&lt;code 190&gt;" in html
    assert "Le jeton d'accès a expiré le 18 novembre 2026" in text
    # A successful poll ends the incident; the next failure is a new one.
    with store.session() as session:
        space = session.get(Space, "kenogami-ig")
        assert space is not None
        space.last_good_poll_at = rd.DUE + dt.timedelta(hours=2)
        session.add(space)
    service.send_health_notice(config, store, "kenogami-ig", "de nouveau", rd.DUE + dt.timedelta(hours=3))
    assert len(smtp.inbox.messages) == 2


def test_outbox_without_smtp(store: Store, tmp_path: Path) -> None:
    rd.populate(store)
    config = rd.make_config(tmp_path)
    assert config.smtp is None
    assert service.send_due_reports(config, store, rd.DUE) == 3
    assert service.send_pending_alerts(config, store, rd.DUE) == 1
    files = sorted(p.name for p in config.outbox_dir.iterdir())
    assert len(files) == 8 and all(f.endswith((".eml", ".html")) for f in files)
    with store.session() as session:
        reports = session.exec(select(Report).order_by(col(Report.id))).all()
    assert {r.status for r in reports} == {"outbox"}
    eml = service.outbox_paths(config, reports[0])[0]
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == ", ".join(rd.COMMS)
    text, html = _parts(message)
    assert "PAR ESPACE" in text
    assert service.outbox_paths(config, reports[0])[1].read_text(encoding="utf-8") == reports[0].html


def test_demo_outbox(store: Store, tmp_path: Path) -> None:
    rd.populate(store)
    config = rd.make_config(tmp_path)
    paths = service.write_demo_outbox(config, store, rd.MONDAY + dt.timedelta(days=6))
    assert [p.suffix for p in paths] == [".eml", ".html"] * 3
    assert all(p.is_file() and p.parent == config.outbox_dir for p in paths)
    assert "semaine en cours" in paths[1].read_text(encoding="utf-8")
    with store.session() as session:
        assert session.exec(select(Report)).all() == []  # the schedule is not disturbed


def test_health_notice_for_an_unknown_space_is_ignored(store: Store, tmp_path: Path) -> None:
    config = rd.make_config(tmp_path)
    service.send_health_notice(config, store, "nowhere", "token revoked", rd.DUE)
    with store.session() as session:
        assert session.exec(select(Report)).all() == []


def test_alert_in_english_without_smtp(store: Store, tmp_path: Path) -> None:
    expected = rd.populate(store)
    data = rd.config_dict(tmp_path)
    data["vigie"]["language"] = "en"
    config = rd.make_config(tmp_path).model_validate(data)
    assert service.send_pending_alerts(config, store, rd.DUE) == 1
    with store.session() as session:
        report = session.exec(select(Report)).one()
    assert report.status == "outbox" and report.language == "en"
    assert report.subject == "URGENT — Vigie alert, École secondaire Kénogami: Illegal content"
    assert "Threat of violence — “Je vais te tuer”" in report.text
    assert f"/items/{expected['threat_id']}" in report.html
    eml, html = service.outbox_paths(config, report)
    assert eml.is_file() and html.read_text(encoding="utf-8") == report.html
