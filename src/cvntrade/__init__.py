"""CVNTrade: train, gate, deploy, trade and operate per-symbol ML models for crypto markets."""

__version__ = "0.1.0"
