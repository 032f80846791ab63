from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "yiwang.workbench"
    label = "workbench"
