"""`yiwang integrity` checks of the licenses app: every license still verifies under its seal key."""

from django.utils.translation import gettext as _

from yiwang.core.crypto import DecryptionError
from yiwang.core.integrity import CheckResult, integrity_check
from yiwang.licenses import keys
from yiwang.licenses.models import License


@integrity_check("licenses.signatures")
def license_signatures() -> CheckResult:
    """Recompute each license's signing message from the stored data and verify its SM2 signature.

    After a restore this proves three things at once: the rows are as signed, the data key decrypts
    the holders' ID numbers, and the seal keys came back with them.
    """
    from yiwang.licenses.services import signing_message

    result = CheckResult("licenses.signatures")
    rows = License.objects.select_related("license_type", "seal_key").order_by("pk")
    for lic in rows.iterator(chunk_size=500):
        result.checked += 1
        try:
            message = signing_message(lic)
        except (DecryptionError, ValueError):
            result.problems.append(_("证照 %(id)s 的持证主体信息无法解密(数据密钥不符?)") % {"id": lic.identifier})
            continue
        if not keys.sm2_verify(lic.seal_key.sm2_public_key, message, lic.signature):
            result.problems.append(_("证照 %(id)s 的 SM2 签名验证失败") % {"id": lic.identifier})
    return result
