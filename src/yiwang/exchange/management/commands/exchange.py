"""`yiwang exchange`: the evidence log and the resource catalog.

yiwang exchange verify-log       walk the evidence log and its SM2 seals; name every broken entry; exit 1 if any
yiwang exchange seal             sign the current chain head now (the scheduler does it every 5 minutes)
yiwang exchange head             print the chain head (sequence:hash) to keep elsewhere
yiwang exchange sync-catalog     bring the resource catalog in line with the registries' fields
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yiwang.core.audit import GENESIS_HASH
from yiwang.exchange import evidence, services
from yiwang.exchange.models import ExchangeLogHead


class Command(BaseCommand):
    help = "Verify the exchange's evidence log (verify-log), seal its head, print it, or sync the catalog."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify-log", help="verify the hash chain and the SM2 seals")
        verify.add_argument("--chunk-size", type=int, default=5000, help="rows read per query")
        verify.add_argument("--limit", type=int, default=100, help="stop after this many broken entries")
        sub.add_parser("seal", help="sign the chain head with the exchange's SM2 key")
        sub.add_parser("head", help="print the chain head (sequence:hash)")
        sub.add_parser("sync-catalog", help="update the resource catalog from the registries")

    def handle(self, *args, **options):
        name = options["subcommand"].replace("-", "_")
        getattr(self, f"handle_{name}")(**options)

    def handle_verify_log(self, *, chunk_size, limit, **options):
        if chunk_size < 1 or limit < 1:
            raise CommandError(_("--chunk-size 和 --limit 必须是正整数"))
        report = evidence.verify_log(chunk_size=chunk_size, limit=limit)
        if not report.ok:
            for item in report.breaks:
                self.stderr.write(_("交换日志被篡改:%(item)s") % {"item": item})
            self.stderr.write(
                _("共 %(n)s 处问题;已校验 %(checked)s 条,用时 %(seconds).2f 秒。")
                % {"n": len(report.breaks), "checked": report.checked, "seconds": report.seconds}
            )
            raise CommandError(_("交换日志校验失败"), returncode=1)
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "交换日志完好:已校验 %(checked)s 条(至序号 %(head)s)和 %(seals)s 个 SM2 封存,"
                    "用时 %(seconds).2f 秒(%(rate).0f 条/秒)。"
                )
                % {
                    "checked": report.checked,
                    "head": report.head_sequence,
                    "seals": report.seals,
                    "seconds": report.seconds,
                    "rate": report.rate,
                }
            )
        )

    def handle_seal(self, **options):
        seal = evidence.log_seal()
        if seal is None:
            self.stdout.write(_("没有新的日志条目需要封存。"))
        else:
            self.stdout.write(_("已封存至序号 %(seq)s:%(hash)s") % {"seq": seal.sequence, "hash": seal.hash})

    def handle_head(self, **options):
        head = ExchangeLogHead.objects.filter(pk=1).values_list("sequence", "hash").first() or (0, GENESIS_HASH)
        self.stdout.write(f"{head[0]}:{head[1]}")

    def handle_sync_catalog(self, **options):
        counts = services.catalog_sync(actor="command:exchange")
        self.stdout.write(_("资源目录:新增 %(created)s 项,更新 %(updated)s 项。") % counts)
