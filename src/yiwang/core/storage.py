"""The object store behind Django's storage API (django-storages' S3 backend), for a deployment
with several web nodes: ``YIWANG_S3_*`` in the README's configuration table.

Files are never public: objects are written with the ``private`` canned ACL, and the app
streams every download itself after its own permission check (``FieldFile.open()``), so no
URL of the store is ever handed to a browser. Code written for ``FileSystemStorage`` keeps
working: a missing object raises ``FileNotFoundError`` from ``get_modified_time`` (and
``size``) as on a disk, and ``listdir`` of a prefix that holds nothing is empty.
"""

from botocore.exceptions import ClientError
from storages.backends.s3 import S3Storage


class ObjectStorage(S3Storage):
    default_acl = "private"
    querystring_auth = True  # should a URL ever be made, it is signed and short-lived
    querystring_expire = 60
    file_overwrite = False  # never replace another material that happens to share a name
    # A download is read from the store into a spooled file: past this size it goes to a
    # temporary file on the node instead of memory (materials may be tens of MB each).
    max_memory_size = 4 * 1024 * 1024

    def get_modified_time(self, name):
        try:
            return super().get_modified_time(name)
        except ClientError as exc:
            if exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404:  # as the base class's size()
                raise FileNotFoundError(name) from exc
            raise
