"""Notifications: the loop's events told to people (chat, mail, webhooks, SMN), never in its way.

`sink` turns recorder events into notices and only enqueues them; `worker` delivers them per
channel with retries, a rate limit and journal-backed de-duplication; `notifier` starts and
drains the workers with the controller. Nothing here is imported by the loop or the guards.
"""
