"""moto_server with DynamoDB's per-request atomicity, for the AWS adapters' tests.

DynamoDB applies every write, and every transaction, atomically. moto's server answers
requests on threads and its DynamoDB backend takes no lock, so two concurrent UpdateItem
calls can lose an increment (the conformance suite's 16 x 50 counter caught it). One lock
around the backend's item operations gives back the guarantee the adapters rely on; the
other services (SQS long polls) keep their threads. Arguments are moto_server's.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_LOCK = threading.RLock()


def _locked(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper


for _name in (
    "put_item",
    "get_item",
    "query",
    "scan",
    "update_item",
    "delete_item",
    "transact_write_items",
    "transact_get_items",
    "batch_get_item",
):
    if hasattr(DynamoDBBackend, _name):
        setattr(DynamoDBBackend, _name, _locked(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main(sys.argv[1:])
