"""Typed keys for what the application holds; each is set by one cleanup context in `router.app`."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from router.auth import KeyRing
from router.config import GatewayConfig
from router.dispatch import Dispatcher
from router.ledger import LedgerWriter
from router.settings import Settings


@dataclass
class Lifecycle:
    is_draining: bool = False


SETTINGS = web.AppKey("settings", Settings)
CONFIG = web.AppKey("config", GatewayConfig)
LIFECYCLE = web.AppKey("lifecycle", Lifecycle)
KEYRING = web.AppKey("keyring", KeyRing)
ENGINE = web.AppKey("engine", AsyncEngine)
LEDGER = web.AppKey("ledger", LedgerWriter)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
