"""The one-stop-shop forms a dossier's events issue (Thông tư 01/2018/TT-VPCP until
14/9/2025, Thông tư 03/2025/TT-VPCP from 15/9/2025), the control sheet on demand and the
tracking book: :class:`FormsService` on the kernel, numbered as :class:`FormSettings` says.
Rendering is the :class:`~dossier.documents.base.FormRenderer` port's job.
"""

from __future__ import annotations

from dossier.forms.service import FormSettings, FormsService

__all__ = ["FormSettings", "FormsService"]
