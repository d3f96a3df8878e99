from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from studio.characters.models import Character
from studio.portraits.models import Portrait


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def verified(user, create: bool, extracted: bool | None, **kwargs) -> None:
        """A verified primary address, as after the sign-up email (paid providers need one);
        UserFactory(verified=False) for an account that has not confirmed it."""
        if create and extracted is not False:
            from allauth.account.models import EmailAddress

            EmailAddress.objects.get_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )


class CharacterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Character

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Character {n}")
    gender = "female"
    age = "young_adult"
    hair_color = "auburn"
    hair_style = "wavy"
    eye_color = "green"
    skin_tone = "light"


class PortraitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Portrait

    owner = factory.SelfAttribute("character.owner")
    character = factory.SubFactory(CharacterFactory)
    character_version = 1
    prompt = "Portrait of a young adult woman."
    provider = "local"
    model = "painter-v1"
    seed = factory.Sequence(lambda n: n)
