"""Analytics on the warehouse: SQL models over the raw ``moodle`` tables in schema
``analytics``, their asset checks, and a course dashboard.

Wire them in with ``analytics_assets``, ``analytics_checks`` and the ``analytics`` resource
(:class:`AnalyticsSettings`).
"""

from .checks import build_model_checks
from .dashboard import course_dashboard
from .factory import build_model_asset
from .models import MODELS, Model
from .settings import AnalyticsSettings

analytics_assets = [build_model_asset(model) for model in MODELS] + [course_dashboard]
analytics_checks = [check for model in MODELS for check in build_model_checks(model)]

__all__ = ["MODELS", "AnalyticsSettings", "Model", "analytics_assets", "analytics_checks"]
