from django import forms
from django.utils.translation import gettext_lazy as _

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class CatalogImportForm(forms.Form):
    file = forms.FileField(
        label=_("事项清单文件"),
        help_text=_("Excel（.xlsx，请使用下载的模板）或 YAML / JSON；不超过 10 MB。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.yaml,.yml,.json"}),
    )
    publish = forms.BooleanField(label=_("导入后立即发布有变化的事项和一件事"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件不能超过 10 MB。"))
        return upload
