"""Page forms of the hotline: thin; the services check everything again."""

from django import forms
from django.utils.translation import gettext_lazy as _

from yiwang.hotline.models import Ticket


class IntakeForm(forms.Form):
    kind = forms.ChoiceField(label=_("诉求类型"), choices=Ticket.Kind.choices)
    category = forms.ChoiceField(label=_("诉求分类"), required=False)
    urgency = forms.ChoiceField(label=_("紧急程度"), choices=Ticket.Urgency.choices, initial="normal", required=False)
    title = forms.CharField(label=_("标题"), max_length=200, required=False)
    content = forms.CharField(label=_("诉求内容"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)
    caller_name = forms.CharField(label=_("诉求人姓名"), max_length=50, required=False)
    caller_phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    recording_ref = forms.CharField(label=_("录音编号"), max_length=100, required=False)
    region_code = forms.CharField(label=_("所在区划代码"), max_length=12, required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    latitude = forms.CharField(label=_("纬度"), max_length=20, required=False)
    longitude = forms.CharField(label=_("经度"), max_length=20, required=False)
    reporter_consent = forms.BooleanField(label=_("举报人同意向承办部门公开身份"), required=False)
    knowledge_entry_id = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1, max_value=2**31)
    photo = forms.FileField(label=_("照片"), required=False)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—"), *[(c.code, c.name) for c in categories]]
