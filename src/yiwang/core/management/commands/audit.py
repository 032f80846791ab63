"""`yiwang audit`: verify the tamper-evident audit chain and read its latest events.

yiwang audit verify                 walk the whole chain; exit 1 at the first broken link
yiwang audit verify --from 500000   verify from a sequence on, trusting the row before it
yiwang audit verify --anchor 1200:3f9a…   also require event 1200 to carry that hash
yiwang audit head                   print the head (sequence and hash) to keep elsewhere
yiwang audit tail -n 20             the latest events
yiwang audit show 1200              one event in full
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.audit import GENESIS_HASH, verify_chain_report
from yiwang.core.models import AuditChainHead, AuditEvent


def _parse_anchor(value: str) -> tuple[int, str]:
    sequence, sep, digest = value.partition(":")
    if not sep or not sequence.isdigit() or len(digest) != 64:
        raise CommandError(_("--anchor 的格式应为 序号:64位哈希,例如 1200:3f9a…"))
    return int(sequence), digest.lower()


class Command(BaseCommand):
    help = "Verify the audit hash chain (verify), or show its head, latest events (tail) or one event (show)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="walk the chain and report the first broken link")
        verify.add_argument("--from", dest="start", type=int, default=1, help="first sequence to verify")
        verify.add_argument("--chunk-size", type=int, default=2000, help="rows read per query")
        verify.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="a head recorded earlier (`yiwang audit head`); the event at SEQ must still carry HASH",
        )
        verify.add_argument("--progress", action="store_true", help="print progress after every chunk")
        sub.add_parser("head", help="print the chain head (sequence and hash)")
        tail = sub.add_parser("tail", help="print the latest events")
        tail.add_argument("-n", "--count", type=int, default=20)
        show = sub.add_parser("show", help="print one event in full")
        show.add_argument("sequence", type=int)

    def handle(self, *args, **options):
        getattr(self, f"handle_{options['subcommand']}")(**options)

    def handle_verify(self, *, start, chunk_size, anchor, progress, **options):
        if start < 1 or chunk_size < 1:
            raise CommandError(_("--from 和 --chunk-size 必须是正整数"))
        anchors = [_parse_anchor(value) for value in anchor]

        def report_progress(checked: int, head: int) -> None:
            self.stderr.write(f"… {checked}/{head}")

        try:
            report = verify_chain_report(
                start=start, chunk_size=chunk_size, progress=report_progress if progress else None
            )
        except ValueError as exc:
            raise CommandError(_("无法从序号 %(start)s 开始校验:%(error)s") % {"start": start, "error": exc}) from exc
        if report.chain_break is not None:
            self.stderr.write(
                _("审计链断裂:%(chain_break)s\n断点之前已校验 %(checked)s 条事件,用时 %(seconds).2f 秒。")
                % {"chain_break": report.chain_break, "checked": report.checked, "seconds": report.seconds}
            )
            raise CommandError(_("审计链校验失败"), returncode=1)
        for sequence, expected in anchors:
            stored = AuditEvent.objects.filter(sequence=sequence).values_list("hash", flat=True).first()
            if stored != expected:
                self.stderr.write(
                    _("锚点不符:序号 %(seq)s 记录的哈希是 %(expected)s,现在为 %(stored)s;链在此之前被整体改写")
                    % {"seq": sequence, "expected": expected, "stored": stored or _("(不存在)")}
                )
                raise CommandError(_("审计链校验失败"), returncode=1)
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "审计链完好:已校验 %(checked)s 条事件(序号 %(first)s–%(head)s),"
                    "用时 %(seconds).2f 秒(%(rate).0f 条/秒)。"
                )
                % {
                    "checked": report.checked,
                    "first": report.first_sequence,
                    "head": report.head_sequence,
                    "seconds": report.seconds,
                    "rate": report.rate,
                }
            )
        )
        self.stdout.write(_("链头:%(seq)s:%(hash)s") % {"seq": report.head_sequence, "hash": report.head_hash})

    def handle_head(self, **options):
        head = AuditChainHead.objects.filter(pk=1).values_list("sequence", "hash").first() or (0, GENESIS_HASH)
        self.stdout.write(f"{head[0]}:{head[1]}")

    def handle_tail(self, *, count, **options):
        events = list(AuditEvent.objects.order_by("-sequence")[: max(count, 0)])
        for event in reversed(events):
            when = timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S")
            target = f"{event.object_type}:{event.object_id}" if event.object_type else "-"
            self.stdout.write(
                f"{event.sequence:>8}  {when}  {event.actor_repr:<20}  {event.action:<28}  {target}  {event.hash[:12]}"
            )

    def handle_show(self, *, sequence, **options):
        event = AuditEvent.objects.filter(sequence=sequence).first()
        if event is None:
            raise CommandError(_("没有序号为 %(seq)s 的审计事件") % {"seq": sequence})
        fields = {
            "sequence": event.sequence,
            "id": event.pk,
            "created_at": timezone.localtime(event.created_at).isoformat(),
            "actor_id": event.actor_id,
            "actor_repr": event.actor_repr,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "object_repr": event.object_repr,
            "changes": event.changes,
            "digest": event.digest,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }
        self.stdout.write(json.dumps(fields, ensure_ascii=False, indent=2))
