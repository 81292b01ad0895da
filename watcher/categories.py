"""The seven categories of litigious content of policy R-SG-06, section 8.1.

The ids are stable: they are stored with every verdict and used in the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from watcher.i18n import current_language


@dataclass(frozen=True)
class Category:
    id: str
    label_fr: str
    label_en: str
    alert: bool = False  # a hit is e-mailed at once (threats, illegal content)

    def label(self, language: str | None = None) -> str:
        return self.label_fr if (language or current_language()) == "fr" else self.label_en


CATEGORIES: tuple[Category, ...] = (
    Category(
        "atteinte_droits",
        "Atteinte à la vie privée, à la dignité ou à la réputation",
        "Attack on privacy, dignity or reputation",
    ),
    Category(
        "discrimination",
        "Propos discriminatoires (Charte québécoise)",
        "Discrimination (Québec Charter grounds)",
    ),
    Category(
        "diffamation_irrespect",
        "Contenu diffamatoire, propagandiste ou irrespectueux",
        "Defamatory, propaganda or disrespectful content",
    ),
    Category(
        "disgracieux_repetitif",
        "Contenu disgracieux et répétitif",
        "Disgraceful and repetitive content",
    ),
    Category(
        "commercial_pourriel",
        "Contenu commercial, publicitaire ou pourriel",
        "Commercial, advertising or spam content",
    ),
    Category(
        "anonyme_repetitif",
        "Contenu anonyme et répétitif",
        "Anonymous and repetitive content",
    ),
    Category("illegal", "Contenu illégal", "Illegal content", alert=True),
)

CATEGORY_IDS: tuple[str, ...] = tuple(c.id for c in CATEGORIES)
BY_ID: dict[str, Category] = {c.id: c for c in CATEGORIES}


def label(category_id: str, language: str | None = None) -> str:
    """Given a category id, return its label in the given (or current) language."""
    category = BY_ID.get(category_id)
    return category.label(language) if category else category_id
