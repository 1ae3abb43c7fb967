"""Built-in texts to embed when a workspace has none of its own: the export's parity check,
the bench's latency inputs and the int8 benchmarks measure on them."""

from __future__ import annotations

__all__ = ["BUILTIN_TEXTS", "SHORT_TEXTS"]

# Short and long, questions and statements, code, numbers, lists and other languages, so
# a quantization error anywhere in the vocabulary or in long sequences shows up.
BUILTIN_TEXTS = (
    "How many vacation days do new employees get?",
    "What is the reimbursement limit for a hotel night in London?",
    "Employees accrue 1.5 days of paid time off per month of service.",
    "The quick brown fox jumps over the lazy dog.",
    "Reset your password from the login page by clicking 'Forgot password'.",
    "Is remote work allowed for contractors?",
    "Our Q3 revenue grew 12% year over year to $4.2M.",
    "def embed(texts): return model.encode(texts, normalize_embeddings=True)",
    "SELECT id, name FROM users WHERE created_at > '2024-01-01';",
    "Quel est le délai de préavis pour une démission ?",
    "Wie beantrage ich Elternzeit?",
    "El reembolso de gastos se procesa en un plazo de 30 días.",
    "yes",
    "ok thanks!!",
    "ERROR 503: upstream service unavailable, retry after 30s",
    "Bring your laptop, badge and charger to the first day of onboarding.",
    "The committee meets quarterly to review whistleblower reports in confidence.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Who do I contact if my expense report was rejected?",
    "1. Open the app 2. Tap Settings 3. Choose Privacy 4. Turn off tracking",
    "A 401(k) match of 50% on the first 6% of salary vests over three years.",
    "Can I carry over unused sick days to next year?",
    "Security incidents must be reported to security@example.com within 24 hours.",
    "The patient presented with acute abdominal pain and a fever of 39.2 °C.",
    "Kubernetes schedules pods onto nodes according to resource requests and limits.",
    "What happens to my stock options if I leave the company?",
    "Meeting notes: agreed to ship v2 on Friday; Ana owns the rollout; no blockers.",
    "Do not share customer data in public Slack channels or personal email.",
    "naïve café résumé coöperate — typographic “quotes” and emoji 🚀",
    "Travel must be booked through the corporate portal at least 14 days in advance.",
    " ".join(
        [
            "This long passage checks truncation: the policy applies to every employee,",
            "contractor and intern in every office and country where the company operates,",
            "covers laptops, phones, networks, email, chat and cloud accounts, and explains",
            "what is allowed, what is forbidden, who approves exceptions and how long they",
            "last, how incidents are reported, investigated and closed, and what corrective",
            "action may follow when the rules are broken.",
        ]
        * 6
    ),
    "Parental leave: 16 weeks fully paid for the birth or adoption of a child.",
)


# One to three words, embedded beside the queries and passages: with so few tokens no average
# over a long text hides an int8 error (per-call int8 MiniLM: mean cosine 0.983 on these, 0.994
# on questions), and people do send them: a chat box's "ok", a search for "PTO".
SHORT_TEXTS = (
    "ok",
    "?!",
    "yes",
    "thanks",
    "help",
    "PTO",
    "VPN",
    "holidays",
    "parking",
    "hi there",
    "sick leave",
    "dental plan",
    "401k match",
    "reset password",
    "remote work?",
    "expense report",
    "laptop broken",
    "lunch menu",
    "Wi-Fi password",
    "new hire onboarding",
)
