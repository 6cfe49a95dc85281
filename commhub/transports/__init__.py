"""Transports carry built messages: smtp, outbox (Maildir) and webhook."""
