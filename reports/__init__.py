"""Weekly vigil reports (policy 7.3 and 7.4), urgent alerts and health notices, by e-mail.

One module per step:

- :mod:`reports.period`: ISO weeks in the configured time zone, the weekly schedule;
- :mod:`reports.digest`: the store queried into a plain-data view model (:mod:`reports.model`);
- :mod:`reports.privacy`: short excerpts, masked authors and masked personal information;
- :mod:`reports.render`: the sandboxed Jinja environment, HTML and text from one model;
- :mod:`reports.mail`: the MIME message, SMTP delivery and the local outbox;
- :mod:`reports.service`: what the daemon and the CLI call (archive, deliver, retry);
- :mod:`reports.cli`: ``vigie report preview|send|resend|list``.
"""
