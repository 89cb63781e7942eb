"""The demo helpdesk's tickets: the situations the demo store's replies are written for.

Each is what a helpdesk shows an agent: the customer's latest message, who they are, and
the order it is about (the facts a real helpdesk's apps supply). Every customer is a
different person, so the offers' per-customer limits don't get in the way of trying them all.
"""
from __future__ import annotations

AGENT = {"first_name": "Ana", "name": "Ana Lima"}

TICKETS: list[dict] = [
    {
        "id": "1001", "subject": "Cancel my order before it ships",
        "body": "Hi, I ordered a wool coat yesterday (order A-10482) but I found one I like more. "
                "Can I still cancel it? The order page says processing, so it has not shipped yet.\n\nThanks, Maria",
        "customer": {"name": "Maria Keller", "first_name": "Maria", "email": "maria.keller@example.com",
                     "membership": "bronze"},
        "order": {"id": "A-10482", "status": "processing", "tracking_number": ""},
        "received": "Today, 09:12",
    },
    {
        "id": "1002", "subject": "Annullare l'ordine",
        "body": "Buongiorno, ieri ho ordinato un paio di stivali (ordine A-10517) ma ho sbagliato taglia. "
                "Posso annullare l'ordine prima della spedizione? Risulta ancora in lavorazione.\n\nGrazie, Giulia",
        "customer": {"name": "Giulia Bianchi", "first_name": "Giulia", "email": "giulia.bianchi@example.it",
                     "membership": "silver"},
        "order": {"id": "A-10517", "status": "processing", "tracking_number": ""},
        "received": "Today, 09:40",
    },
    {
        "id": "1003", "subject": "إلغاء الطلب قبل الشحن",
        "body": "مرحبًا، طلبت معطفًا أمس (الطلب A-10533) وأريد إلغاء الطلب قبل شحنه. "
                "الطلب ما زال قيد المعالجة. هل يمكنكم إلغاؤه؟\n\nشكرًا، ليلى",
        "customer": {"name": "ليلى حداد", "first_name": "ليلى", "email": "layla.haddad@example.com",
                     "membership": "guest"},
        "order": {"id": "A-10533", "status": "processing", "tracking_number": ""},
        "received": "Today, 10:05",
    },
    {
        "id": "1004", "subject": "Please cancel, I don't need the jacket any more",
        "body": "Hello, please cancel order A-10390. I can see it already shipped on Monday, "
                "but I no longer need the jacket. What can I do?\n\nTom",
        "customer": {"name": "Tom Becker", "first_name": "Tom", "email": "tom.becker@example.com",
                     "membership": "guest"},
        "order": {"id": "A-10390", "status": "shipped", "tracking_number": "1Z999AA10123456784"},
        "received": "Today, 10:31",
    },
    {
        "id": "1005", "subject": "Wrong shipping address on my order",
        "body": "Hi, I just placed order A-10544 and noticed it will be delivered to my old address. "
                "Can you change the shipping address to my new flat before it ships?\n\nPriya",
        "customer": {"name": "Priya Shah", "first_name": "Priya", "email": "priya.shah@example.com",
                     "membership": "gold"},
        "order": {"id": "A-10544", "status": "processing", "tracking_number": ""},
        "received": "Today, 11:02",
    },
    {
        "id": "1006", "subject": "Promo code not working at checkout",
        "body": "My promo code is rejected at checkout: it says the code is invalid. I got it by email "
                "two weeks ago. Can you help?\n\nDaniel",
        "customer": {"name": "Daniel Okafor", "first_name": "Daniel", "email": "daniel.okafor@example.com",
                     "membership": "gold"},
        "order": {"id": "", "status": "", "tracking_number": ""},
        "received": "Today, 11:20",
    },
    {
        "id": "1007", "subject": "注文した商品がまだ届きません",
        "body": "こんにちは。先週注文したジーンズ（注文番号 A-10301）がまだ届きません。"
                "今どこにあるか教えていただけますか。配送状況を確認したいです。\n\n佐藤",
        "customer": {"name": "佐藤 健", "first_name": "健", "email": "ken.sato@example.jp", "membership": "silver"},
        "order": {"id": "A-10301", "status": "shipped", "tracking_number": "JP4455667788"},
        "received": "Yesterday, 17:48",
    },
    {
        "id": "1008", "subject": "Tidak bisa masuk ke akun",
        "body": "Halo, saya lupa kata sandi dan tidak bisa masuk ke akun saya. "
                "Bisakah Anda mengirimkan tautan untuk mengatur ulang kata sandi?\n\nTerima kasih, Dewi",
        "customer": {"name": "Dewi Lestari", "first_name": "Dewi", "email": "dewi.lestari@example.id",
                     "membership": "bronze"},
        "order": {"id": "", "status": "", "tracking_number": ""},
        "received": "Yesterday, 16:02",
    },
    {
        "id": "1009", "subject": "The price dropped the day after I bought it",
        "body": "I bought the leather boots yesterday (order A-10470) and today they are 20% cheaper on your site. "
                "That doesn't seem fair. Can you refund the difference?\n\nSam",
        "customer": {"name": "Sam Rivera", "first_name": "Sam", "email": "sam.rivera@example.com",
                     "membership": "guest"},
        "order": {"id": "A-10470", "status": "delivered", "tracking_number": "1Z999AA10123450001"},
        "received": "Yesterday, 14:30",
    },
    {
        "id": "1010", "subject": "When will I get my refund?",
        "body": "Hello, I returned the shirt from order A-10211 two weeks ago. When will I get my refund? "
                "I can't see it yet.\n\nLena",
        "customer": {"name": "Lena Novak", "first_name": "Lena", "email": "lena.novak@example.com",
                     "membership": "silver"},
        "order": {"id": "A-10211", "status": "returned", "tracking_number": ""},
        "received": "Yesterday, 11:15",
    },
]


def ticket(number: int) -> dict | None:
    """The demo ticket numbered ``number`` (1-based), or None."""
    return TICKETS[number - 1] if 1 <= number <= len(TICKETS) else None
