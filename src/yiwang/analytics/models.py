"""Rollups (指标值), thresholds (三色预警) and the alerts they raised.

The dashboards read only these small tables: the rollup job (``services.indicator_rollup``)
writes one row per indicator, dimension, scope and period from the other apps' grouped
selectors, so a panel reads a few dozen rows whatever the number of cases or tickets.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ScopeKind(models.TextChoices):
    CITY = "city", _("全市")
    DISTRICT = "district", _("区县")
    DEPARTMENT = "department", _("部门")


class Period(models.TextChoices):
    DAY = "day", _("日")
    MONTH = "month", _("月")


class IndicatorValue(models.Model):
    """One figure: an indicator (``cases.submitted``), optionally split by a dimension (a
    state, a grade), for one scope and one period. A rate keeps its numerator and denominator,
    so a month is the sum of its days and a city the sum of its departments."""

    indicator = models.CharField(_("指标"), max_length=64)
    dimension = models.CharField(_("维度"), max_length=64, blank=True, default="")
    scope_kind = models.CharField(_("范围类型"), max_length=12, choices=ScopeKind.choices)
    scope_code = models.CharField(_("范围编码"), max_length=32)
    period = models.CharField(_("周期"), max_length=8, choices=Period.choices)
    period_start = models.DateField(_("周期起始日"))
    numerator = models.FloatField(_("分子或计数"), default=0)
    denominator = models.FloatField(_("分母"), null=True, blank=True)
    value = models.FloatField(_("值"), null=True, blank=True)
    computed_at = models.DateTimeField(_("计算时间"), auto_now=True)

    class Meta:
        verbose_name = _("指标值")
        verbose_name_plural = _("指标值")
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "dimension", "scope_kind", "scope_code", "period", "period_start"],
                name="analytics_indicatorvalue_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["scope_kind", "scope_code", "indicator", "period", "period_start"],
                name="analytics_iv_scope_idx",
            ),
            models.Index(fields=["indicator", "period", "period_start"], name="analytics_iv_period_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator}/{self.dimension} {self.scope_kind}:{self.scope_code} {self.period_start}"


class Direction(models.TextChoices):
    ABOVE = "above", _("高于阈值预警")
    BELOW = "below", _("低于阈值预警")


class Level(models.TextChoices):
    GREEN = "green", _("绿")
    YELLOW = "yellow", _("黄")
    RED = "red", _("红")


class Threshold(models.Model):
    """三色预警: an operator's yellow and red bounds for one indicator in one scope. With
    ``above`` a value at or over the bound turns it yellow/red (an overdue count); with
    ``below`` at or under (a satisfaction rate)."""

    indicator = models.CharField(_("指标"), max_length=64)
    scope_kind = models.CharField(_("范围类型"), max_length=12, choices=ScopeKind.choices)
    scope_code = models.CharField(_("范围编码"), max_length=32)
    direction = models.CharField(_("预警方向"), max_length=8, choices=Direction.choices)
    yellow = models.FloatField(_("黄色阈值"))
    red = models.FloatField(_("红色阈值"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("责任人"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(_("启用"), default=True)
    level = models.CharField(_("当前状态"), max_length=8, choices=Level.choices, default=Level.GREEN)
    last_value = models.FloatField(_("最近值"), null=True, blank=True)
    checked_at = models.DateTimeField(_("最近检查"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("预警阈值")
        verbose_name_plural = _("预警阈值")
        ordering = ["indicator", "scope_kind", "scope_code"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "scope_kind", "scope_code"], name="analytics_threshold_unique")
        ]

    def __str__(self) -> str:
        return f"{self.indicator} {self.scope_kind}:{self.scope_code}"


class Alert(models.Model):
    """A threshold crossed: raised once per threshold, period and level, and sent to the owner."""

    threshold = models.ForeignKey(Threshold, on_delete=models.CASCADE, related_name="alerts")
    level = models.CharField(_("预警等级"), max_length=8, choices=Level.choices)
    value = models.FloatField(_("值"))
    period_start = models.DateField(_("周期起始日"))
    raised_at = models.DateTimeField(_("预警时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("预警记录")
        verbose_name_plural = _("预警记录")
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(fields=["threshold", "period_start", "level"], name="analytics_alert_unique")
        ]

    def __str__(self) -> str:
        return f"{self.threshold} {self.level} {self.period_start}"
