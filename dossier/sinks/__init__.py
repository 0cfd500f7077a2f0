"""Sinks: the outside world the outbox delivers events to (webhooks, the national portal,
notifications to applicants). The port is :mod:`dossier.sinks.base`."""

from dossier.sinks.base import DeliveryFailed, Message, Sink, subscribed

__all__ = ["DeliveryFailed", "Message", "Sink", "subscribed"]
