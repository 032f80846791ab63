"""`yiwang catalog_search`: rebuild the search index, seed synonyms, try a query."""

from django.core.management.base import BaseCommand, CommandError

from yiwang.catalog import search
from yiwang.catalog.models import ItemKind


class Command(BaseCommand):
    help = "事项搜索:reindex 重建索引;synonyms 补充默认同义词;query 试搜索(例如 yiwang catalog_search query 开饭店)"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["reindex", "synonyms", "query"])
        parser.add_argument("text", nargs="?", default="", help="query 的搜索词")
        parser.add_argument("--page-size", type=int, default=10)

    def handle(self, *args, action: str, text: str, page_size: int, **options):
        if action == "reindex":
            count = search.reindex_all()
            self.stdout.write(self.style.SUCCESS(f"已重建搜索索引:{count} 个已发布的事项和一件事。"))
        elif action == "synonyms":
            added = search.synonyms_seed()
            self.stdout.write(self.style.SUCCESS(f"已补充 {added} 条默认同义词(已有的不覆盖)。"))
        else:
            if not text.strip():
                raise CommandError("请给出搜索词,例如:yiwang catalog_search query 开饭店要办什么")
            page = search.search(text, page_size=page_size)
            self.stdout.write(f"「{text}」共 {page.total} 条结果:")
            for n, hit in enumerate(page.hits, start=1):
                label = "一件事" if hit.kind == "life_event" else ItemKind(hit.item_kind).label
                self.stdout.write(f"{n:3}. {hit.name}({hit.code},{hit.department_name},{label})得分 {hit.score}")
