"""Scripted, realistic customer traffic for the demo: several languages, threads, follow-ups, DMs."""

from __future__ import annotations

import random
from dataclasses import dataclass

CUSTOMERS = [
    ("maria_gonzalez", "María González", "es"),
    ("jan.kowalski", "Jan Kowalski", "pl"),
    ("olga_ivanova", "Ольга Иванова", "ru"),
    ("lukas_meyer", "Lukas Meyer", "de"),
    ("sophie.martin", "Sophie Martin", "fr"),
    ("priya_k", "Priya Kapoor", "en"),
    ("tom_h", "Tom Harris", "en"),
    ("yuki_t", "Yuki Tanaka", "ja"),
    ("ana_souza", "Ana Souza", "pt"),
    ("sam_oconnor", "Sam O'Connor", "en"),
    ("giulia.r", "Giulia Rossi", "it"),
    ("dmitri_p", "Дмитрий Петров", "ru"),
    ("emma_w", "Emma Wilson", "en"),
    ("ahmet_y", "Ahmet Yılmaz", "tr"),
    ("noor_a", "Noor Ahmed", "en"),
    ("kasia_n", "Katarzyna Nowak", "pl"),
]

OPENERS = {
    "en": [
        "my order #{n} still hasn't arrived, it's been two weeks",
        "the app logs me out every time I open it. any fix?",
        "is the store on Main St open on Sunday?",
        "charged twice for the same subscription this month",
        "love the new update, the dark mode is great!",
        "how do I change the delivery address on an order?",
        "someone hacked my account and changed the email, I can't log in anymore",
    ],
    "es": ["mi pedido #{n} no ha llegado todavía", "¿cómo puedo cambiar mi contraseña?"],
    "pl": ["moje zamówienie #{n} nie dotarło", "aplikacja się zawiesza po aktualizacji"],
    "ru": ["заказ #{n} так и не пришёл", "не могу войти в личный кабинет", "мой аккаунт взломали, сменили пароль"],
    "de": ["meine Bestellung #{n} ist noch nicht da", "die App stürzt beim Bezahlen ab"],
    "fr": ["ma commande #{n} n'est toujours pas arrivée", "impossible de me connecter depuis hier"],
    "ja": ["注文 #{n} がまだ届きません", "アプリにログインできません"],
    "pt": ["meu pedido #{n} ainda não chegou", "o aplicativo não abre no meu celular"],
    "it": ["il mio ordine #{n} non è ancora arrivato", "non riesco ad accedere all'app"],
    "tr": ["#{n} numaralı siparişim hâlâ gelmedi", "uygulama sürekli kapanıyor"],
}

FOLLOW_UPS = {
    "en": ["any update on this?", "thanks, that worked!", "still waiting…", "ok, sent you the details"],
    "es": ["¿alguna novedad?", "¡gracias, ya funciona!"],
    "pl": ["jakieś wieści?", "dzięki, działa!"],
    "ru": ["есть новости?", "спасибо, всё работает!"],
    "de": ["gibt es Neuigkeiten?", "danke, jetzt klappt es!"],
    "fr": ["des nouvelles ?", "merci, ça marche !"],
    "ja": ["その後どうなりましたか?", "ありがとうございます、解決しました!"],
    "pt": ["alguma novidade?", "obrigada, funcionou!"],
    "it": ["novità?", "grazie, ora funziona!"],
    "tr": ["bir gelişme var mı?", "teşekkürler, düzeldi!"],
}

DMS = {
    "en": "Hi, here is my order number {n} and the email on the account is in your system already.",
    "es": "Hola, mi número de pedido es {n}.",
    "de": "Hallo, meine Bestellnummer ist {n}.",
    "ru": "Здравствуйте, номер заказа {n}.",
}

AGENT_REPLIES = {
    "en": "Sorry about that! We're on it — could you send us a DM so we can look into it?",
    "es": "¡Lo sentimos! Escríbenos por mensaje privado y lo revisamos.",
    "pl": "Przepraszamy! Napisz do nas prywatnie, sprawdzimy to.",
    "ru": "Извините! Напишите нам в личные сообщения, мы разберёмся.",
    "de": "Das tut uns leid! Schreib uns bitte eine Direktnachricht.",
    "fr": "Désolés ! Écrivez-nous en message privé, on regarde ça.",
    "ja": "ご不便をおかけしております。DMで詳細をお知らせください。",
    "pt": "Sentimos muito! Mande uma mensagem privada para a gente.",
    "it": "Ci dispiace! Scrivici in privato e controlliamo subito.",
    "tr": "Üzgünüz! Lütfen bize özel mesaj gönderin.",
}
PRIVATE_REPLY = "Thanks — I found your order and a replacement ships today. You'll get tracking by tomorrow."


@dataclass
class Step:
    kind: str  # new | follow_up | dm
    customer: tuple[str, str, str]
    text: str


def plan(count: int, seed: int) -> list[Step]:
    """A shuffled but reproducible mix: ~60% new threads, ~30% follow-ups, ~10% direct messages."""
    rng = random.Random(seed)
    steps: list[Step] = []
    for index in range(count):
        customer = rng.choice(CUSTOMERS)
        lang = customer[2]
        roll = rng.random()
        number = 10000 + index
        if index == 0 or roll < 0.6:
            steps.append(Step("new", customer, rng.choice(OPENERS[lang]).format(n=number)))
        elif roll < 0.9:
            # A person's follow-ups differ (here: the order they are about); the same words four times
            # in minutes is what horseshoe's triage rightly takes for a bot loop and does not import.
            steps.append(Step("follow_up", customer, f"{rng.choice(FOLLOW_UPS[lang])} #{number}"))
        else:
            steps.append(Step("dm", customer, DMS.get(lang, DMS["en"]).format(n=number)))
    return steps


def agent_text(lang: str | None, private: bool, name: str, ticket_id: int) -> str:
    """Agents address the customer and cite the case: X refuses a brand's identical posts."""
    first = name.split()[0] if name else ""
    body = PRIVATE_REPLY if private else AGENT_REPLIES.get(lang or "en", AGENT_REPLIES["en"])
    # The reference also lets the audit (sandbox/demo/audit.py) spot a reply posted twice.
    ref = f"(ref {ticket_id})"
    return f"{first}, {body} {ref}" if first else f"{body} {ref}"
