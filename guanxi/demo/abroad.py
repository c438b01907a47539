"""Words for the demo's buyers abroad (the Shopify store): names, places, carriers, English product titles.

Weights are rough, chosen so the shop looks like a small cross-border one (most orders from the US), not taken
from any statistic. Postcodes are drawn from each city's real range; streets are common names, not real
addresses.
"""

FIRST_FEMALE = ["Emily", "Olivia", "Sophia", "Emma", "Charlotte", "Amelia", "Grace", "Chloe", "Hannah", "Lily",
                "Mia", "Zoe", "Sarah", "Jessica", "Rachel", "Priya", "Aisha", "Mei"]
FIRST_MALE = ["James", "Oliver", "Liam", "Noah", "Ethan", "Lucas", "Daniel", "Matthew", "Ryan", "Jack", "Samuel",
              "Henry", "David", "Arjun", "Marcus", "Kevin", "Jun", "Adam"]
LAST_NAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Clark",
              "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Evans", "Thomas", "Lee",
              "Tan", "Lim", "Ng", "Wong", "Patel", "Kumar", "Müller", "Schmidt", "Martin"]
EMAIL_DOMAINS = [("gmail.com", 6), ("outlook.com", 2), ("yahoo.com", 2), ("icloud.com", 2), ("hotmail.co.uk", 1)]

# (ISO country, province or state, city, postcode pattern (% a number), streets, weight). Singapore has no
# provinces: Shopify leaves the field empty there too.
PLACES = [
    ("US", "California", "Los Angeles", "900%02d", ["Sunset Blvd", "Wilshire Blvd", "Figueroa St"], 8),
    ("US", "California", "San Francisco", "941%02d", ["Market St", "Valencia St", "Geary Blvd"], 5),
    ("US", "New York", "New York", "100%02d", ["Broadway", "Lexington Ave", "W 72nd St"], 8),
    ("US", "Washington", "Seattle", "981%02d", ["Pine St", "Rainier Ave S", "Aurora Ave N"], 3),
    ("US", "Texas", "Houston", "770%02d", ["Westheimer Rd", "Bellaire Blvd", "Main St"], 3),
    ("US", "Massachusetts", "Boston", "021%02d", ["Beacon St", "Commonwealth Ave", "Tremont St"], 3),
    ("US", "Illinois", "Chicago", "606%02d", ["Michigan Ave", "Clark St", "Halsted St"], 2),
    ("GB", "England", "London", "SW%d 2AB", ["High Street", "King's Road", "Camden Road"], 5),
    ("GB", "England", "Manchester", "M%d 4BT", ["Oxford Road", "Deansgate", "Wilmslow Road"], 2),
    ("GB", "Scotland", "Edinburgh", "EH%d 1QS", ["Princes Street", "Leith Walk", "Morningside Road"], 1),
    ("SG", "", "Singapore", "5%05d", ["Orchard Road", "Tampines Street 11", "Clementi Avenue 3"], 5),
    ("CA", "Ontario", "Toronto", "M%dV 2T6", ["Yonge Street", "Queen Street W", "Dundas Street"], 3),
    ("CA", "British Columbia", "Vancouver", "V%dZ 1K4", ["Granville Street", "Robson Street", "Main Street"], 3),
    ("AU", "New South Wales", "Sydney", "20%02d", ["George Street", "Pitt Street", "Oxford Street"], 3),
    ("AU", "Victoria", "Melbourne", "30%02d", ["Collins Street", "Swanston Street", "Chapel Street"], 2),
    ("MY", "Kuala Lumpur", "Kuala Lumpur", "50%03d", ["Jalan Bukit Bintang", "Jalan Ampang", "Jalan Tun Razak"], 2),
    ("DE", "Berlin", "Berlin", "10%03d", ["Kantstraße", "Torstraße", "Sonnenallee"], 1),
]

# (carrier, tracking number pattern, weight): what a Chinese seller ships abroad with.
CARRIERS = [("DHL Express", "%010d", 3), ("云途物流 YunExpress", "YT%016d", 4), ("菜鸟国际 Cainiao", "LP%014d", 3),
            ("顺丰国际 SF International", "SF%013d", 2)]

BUYER_MESSAGES = ["It's a gift, please don't include the invoice", "Please leave the parcel at the front desk",
                  "Can you ship before the weekend?", "Size as in the chart, thanks!",
                  "Please wrap it carefully, thank you"]
# Staff's key points of chats with buyers abroad (staff write in Chinese).
PRESALE_NOTES = ["咨询美国运费和到货时间，告知7-12个工作日", "询问关税由谁承担，已说明到付关税由买家承担",
                 "咨询尺码换算（美码/英码），已发送尺码表", "询问能否寄新加坡，告知支持并包邮满49美元",
                 "询问是否有折扣码，已发送WELCOME10"]
AFTERSALE_NOTES = ["物流停在清关环节，已联系云途催查", "收到商品有破损，同意补发", "尺码不合适，指导办理退货",
                   "表示非常满意，会推荐给朋友", "海关要求补充信息，已协助客户填写"]

# The Shopify store's titles of the catalogue's goods (vocabulary.PRODUCTS, same SKUs).
PRODUCT_TITLES = {
    "TB-W001": "French Vintage Floral Midi Dress", "TB-W002": "High-Waist Wide-Leg Jeans",
    "TB-W003": "Cotton Relaxed-Fit T-Shirt", "TB-W004": "Wool Knit Cardigan", "TB-W005": "Light Down Jacket",
    "TB-M001": "Men's Quick-Dry Sports Tee", "TB-M002": "Non-Iron Slim Dress Shirt",
    "TB-M003": "Men's Cargo Jogger Pants", "TB-S001": "Matching Canvas Sneakers",
    "TB-S002": "Breathable Mesh Running Shoes", "TB-S003": "Leather Loafers", "TB-S004": "Fleece-Lined Snow Boots",
    "TB-B001": "Hyaluronic Acid Sheet Masks (10 pack)", "TB-B002": "Niacinamide Brightening Serum 30 ml",
    "TB-B003": "Amino Acid Gentle Cleanser 120 g", "TB-B004": "Velvet Matte Lipstick",
    "TB-B005": "Sunscreen SPF 50+", "TB-F001": "Daily Mixed Nuts Gift Box (30 packs)",
    "TB-F002": "Yunnan Coffee Beans, Medium Roast 500 g", "TB-F003": "Handmade Nougat 500 g",
    "TB-F004": "West Lake Longjing Green Tea 250 g", "TB-H001": "Cotton Bedding Set (4 pieces)",
    "TB-H002": "Memory Foam Neck Pillow", "TB-H003": "Nordic Ceramic Mug with Spoon",
    "TB-H004": "Coral Fleece Throw Blanket", "TB-H005": "Scented Candle Gift Set",
    "TB-D001": "20000 mAh Fast-Charge Power Bank", "TB-D002": "Noise-Cancelling Wireless Earbuds",
    "TB-D003": "Clear Shockproof Phone Case", "TB-D004": "Foldable Aluminium Phone Stand",
    "TB-D005": "65 W GaN Charger", "TB-K001": "Baby Cotton Romper", "TB-K002": "Kids' Insulated Straw Bottle",
    "TB-K003": "Baby Food Grinding Bowl Set", "TB-A001": "Silk Scrunchies (3 pack)",
    "TB-A002": "Sterling Silver Collarbone Necklace", "TB-A003": "Canvas Tote Bag",
}
