"""KetaDesk: bedside dashboard for IV ketamine infusion sessions."""

__version__ = "0.1.0"
