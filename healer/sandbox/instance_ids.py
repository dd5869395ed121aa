"""Give sandbox EC2 instances the ids a case names.

moto draws EC2 instance ids at random (`moto.ec2.models.instances.random_instance_id`) and,
unlike most services, does not use its id manager. The threaded moto server runs in this
process, so the generator can be swapped for the duration of one `run_instances` call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from moto.ec2.models import instances as moto_instances

_LOCK = threading.Lock()


@contextmanager
def steered_instance_ids(ids: list[str]) -> Iterator[None]:
    """Make moto hand out `ids`, in order, to the instances created inside the block.

    Once the ids run out, moto's own generator takes over again; on exit it is restored.

    Args:
        ids: Instance ids to hand out (`i-` followed by hex digits).
    """
    pending = list(ids)
    with _LOCK:
        original: Callable[[], str] = moto_instances.random_instance_id

        def next_id() -> str:
            return pending.pop(0) if pending else original()

        moto_instances.random_instance_id = next_id
        try:
            yield
        finally:
            moto_instances.random_instance_id = original
