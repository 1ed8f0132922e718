"""Signal receivers: changes that take a right away invalidate the API's cached callers.

Connected in SurveysConfig.ready(). Each receiver bumps the user's caller generation in the
shared cache (surveys.services.accounts.callers_invalidate), so every worker drops its cached
caller at the next request: a deleted token, a deactivated or deleted user, a changed group
(role) or region assignment, a deleted respondent binding. A renamed or deleted group affects
everyone in it and bumps the global generation. Bulk QuerySet.update() sends no signals; the
per-process TTL (30 s) bounds those.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from surveys.models import RegionAssignment
from surveys.models.invitations import RespondentAccount
from surveys.services.accounts import callers_invalidate

User = get_user_model()


@receiver(post_delete, sender=Token, dispatch_uid="nilai_token_deleted")
def _token_deleted(sender: type, instance: Token, **kwargs: Any) -> None:
    callers_invalidate([instance.user_id])


@receiver(post_save, sender=User, dispatch_uid="nilai_user_saved")
def _user_saved(sender: type, instance: Any, created: bool, update_fields: Any = None,
                **kwargs: Any) -> None:
    # a login only stamps last_login; a new user has nothing cached yet
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    callers_invalidate([instance.pk])


@receiver(post_delete, sender=User, dispatch_uid="nilai_user_deleted")
def _user_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    callers_invalidate([instance.pk])


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="nilai_user_groups")
def _groups_changed(sender: type, instance: Any, action: str, reverse: bool,
                    pk_set: set[int] | None, **kwargs: Any) -> None:
    if not reverse:  # user.groups.add/remove/clear
        if action in ("post_add", "post_remove", "post_clear"):
            callers_invalidate([instance.pk])
    elif action in ("post_add", "post_remove"):  # group.user_set.add/remove
        callers_invalidate(sorted(pk_set or ()))
    elif action == "pre_clear":  # group.user_set.clear(): pk_set is not given
        callers_invalidate(list(instance.user_set.values_list("pk", flat=True)))


@receiver(post_save, sender=Group, dispatch_uid="nilai_group_saved")
@receiver(pre_delete, sender=Group, dispatch_uid="nilai_group_deleted")
def _group_changed(sender: type, instance: Group, **kwargs: Any) -> None:
    if kwargs.get("created"):
        return
    callers_invalidate(everyone=True)


@receiver(post_save, sender=RegionAssignment, dispatch_uid="nilai_assignment_saved")
@receiver(post_delete, sender=RegionAssignment, dispatch_uid="nilai_assignment_deleted")
@receiver(post_delete, sender=RespondentAccount, dispatch_uid="nilai_binding_deleted")
def _user_row_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    callers_invalidate([instance.user_id])
