"""Utilities: ``gradcheck`` and ``gradgradcheck``."""
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]
