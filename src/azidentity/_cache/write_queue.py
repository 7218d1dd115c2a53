"""Changes made on an event loop's thread, saved in order by a writer thread.

Blocking file I/O on a thread running an asyncio loop would stall every task on it (an fsync, or up
to ``LOCK_TIMEOUT`` seconds waiting for another process's lock). A change made there
(``PersistentStore.put`` / ``delete`` / ``update``) is queued and saved by a writer thread, in
order; reads on that thread see queued changes at once, never wait for the lock, and ``saved()`` /
``wait_saved()`` wait for the queue. The token cache reads the file off the loop too
(``persistent.py``).

Split from ``store.py`` (the file itself) because this part is about threads, not files: it hands
batches of changes to ``PersistentStore._save`` and knows nothing of their format.
"""

from __future__ import annotations

import sys
import threading

from .. import log
from .._lazy import TYPE_CHECKING
from .encryption import describe

if TYPE_CHECKING:
    import concurrent.futures
    from collections.abc import Callable

    from .file_format import Entries, Sections

    Change = tuple[str, Callable[[Entries], object]]


def on_event_loop() -> bool:
    """True on a thread running an asyncio event loop, where blocking I/O stalls every task."""
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and asyncio._get_running_loop() is not None


class WriteQueue:
    """The writer thread's half of ``store.PersistentStore``: the queue of changes and its waiters.

    The subclass saves a batch of changes with ``_save``. A forked child forgets the queue
    (``store.py``'s at-fork handler calls ``_forget_queue``).
    """

    path: str

    def _forget_queue(self) -> None:
        self._queue_lock = threading.Lock()
        self._queued: list[Change] = []  # changes waiting for the writer thread, in order
        self._saving: list[Change] = []  # the batch it is saving now
        self._saved: concurrent.futures.Future[None] | None = None  # done when both are empty

    # -- the writer thread ----------------------------------------------------------------------------
    def saved_future(self) -> concurrent.futures.Future[None] | None:
        """Done once every change queued so far is saved (or failed with a WARNING); None: nothing queued."""
        with self._queue_lock:
            return self._saved

    def wait_saved(self) -> None:
        future = self.saved_future()
        if future is not None:
            future.result()

    async def saved(self) -> None:
        """``wait_saved`` for coroutines: the loop keeps running meanwhile."""
        future = self.saved_future()
        if future is not None:
            import asyncio

            # shield: a cancelled waiter must not cancel the future other waiters share
            await asyncio.shield(asyncio.wrap_future(future))

    def _enqueue(self, change: Change) -> concurrent.futures.Future[None]:
        with self._queue_lock:
            self._queued.append(change)
            if self._saved is None:
                import concurrent.futures

                self._saved = concurrent.futures.Future()
                # Not a daemon: the interpreter waits for queued changes before it exits.
                threading.Thread(target=self._drain, name="azidentity-cache-writer").start()
            return self._saved

    def _drain(self) -> None:
        while True:
            with self._queue_lock:
                batch, self._queued = self._queued, []
                self._saving = batch
                if not batch:
                    done, self._saved = self._saved, None
                    break
            try:
                self._save(batch)
            except Exception as error:  # a change's own bug: never leave waiters hanging
                self._warn("could not save the persistent token cache %s: %s", self.path, describe(error))
            finally:
                with self._queue_lock:
                    self._saving = []
        if done is not None and not done.done():
            done.set_result(None)

    def _with_queued(self, sections: Sections) -> Sections:
        """The file's sections as they will be once the queued changes are saved."""
        with self._queue_lock:
            changes = self._saving + self._queued
        for section, change in changes:
            entries = sections.setdefault(section, {})
            change(entries)
            if not entries:
                del sections[section]
        return sections

    def _save(self, changes: list[Change]) -> None:
        raise NotImplementedError  # PersistentStore's: lock, re-read, apply ``changes``, replace the file

    @staticmethod
    def _warn(message: str, *args: object) -> None:
        log.emit(log.EVENT_AUTHENTICATION, log.WARNING, message, *args)
