"""The appearance vocabulary: the one source of truth for forms, prompts, the painter and imports.

Each attribute has a key, a label and choices; each choice has a key, a label, the phrase it adds to a
prompt and, where the painter needs one, a colour. Keys are stable identifiers stored in the database;
labels and phrases may be reworded freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Choice:
    key: str
    label: str
    phrase: str
    rgb: RGB | None = None


@dataclass(frozen=True)
class Attribute:
    name: str
    label: str
    choices: tuple[Choice, ...]
    group: str = "appearance"  # "appearance" or "image"
    multiple: bool = False
    aliases: tuple[str, ...] = ()
    help_text: str = ""
    _by_key: dict[str, Choice] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_key.update({choice.key: choice for choice in self.choices})

    @property
    def field_choices(self) -> list[tuple[str, str]]:
        return [(choice.key, choice.label) for choice in self.choices]

    def get(self, key: str | None) -> Choice | None:
        return self._by_key.get(key or "")

    def phrase(self, key: str | None) -> str:
        choice = self.get(key)
        return choice.phrase if choice else ""

    def label_of(self, key: str | None) -> str:
        choice = self.get(key)
        return choice.label if choice else ""


def _c(key: str, label: str, phrase: str, rgb: RGB | None = None) -> Choice:
    return Choice(key, label, phrase, rgb)


GENDER = Attribute(
    "gender",
    "Gender",
    (
        _c("female", "Female", "woman"),
        _c("male", "Male", "man"),
        _c("nonbinary", "Non-binary", "androgynous person"),
    ),
    aliases=("sex",),
)

AGE = Attribute(
    "age",
    "Age",
    (
        _c("child", "Child (6-12)", "child"),
        _c("teen", "Teenager (13-17)", "teenage"),
        _c("young_adult", "Young adult (18-29)", "young adult"),
        _c("adult", "Adult (30-44)", "adult"),
        _c("middle_aged", "Middle-aged (45-64)", "middle-aged"),
        _c("elderly", "Elderly (65+)", "elderly"),
    ),
    aliases=("age range", "age group"),
)

SKIN_TONE = Attribute(
    "skin_tone",
    "Skin tone",
    (
        _c("porcelain", "Porcelain", "porcelain skin", (246, 226, 212)),
        _c("fair", "Fair", "fair skin", (241, 210, 186)),
        _c("light", "Light", "light skin", (232, 190, 160)),
        _c("medium", "Medium", "medium skin tone", (205, 150, 112)),
        _c("olive", "Olive", "olive skin", (190, 148, 100)),
        _c("tan", "Tan", "tanned skin", (176, 122, 84)),
        _c("brown", "Brown", "brown skin", (138, 90, 60)),
        _c("dark", "Dark", "dark skin", (96, 62, 42)),
        _c("deep", "Deep", "deep ebony skin", (66, 42, 30)),
        _c("green", "Green (fantasy)", "green fantasy skin", (110, 160, 96)),
        _c("blue", "Blue (fantasy)", "blue fantasy skin", (96, 130, 196)),
        _c("grey", "Grey (fantasy)", "ashen grey skin", (150, 150, 156)),
    ),
    aliases=("skin", "skin colour", "skin color", "complexion"),
)

ETHNICITY = Attribute(
    "ethnicity",
    "Ethnicity",
    (
        _c("african", "African", "of African descent"),
        _c("east_asian", "East Asian", "of East Asian descent"),
        _c("south_asian", "South Asian", "of South Asian descent"),
        _c("southeast_asian", "Southeast Asian", "of Southeast Asian descent"),
        _c("middle_eastern", "Middle Eastern", "of Middle Eastern descent"),
        _c("caucasian", "European / Caucasian", "of European descent"),
        _c("latino", "Latino / Hispanic", "of Latin American descent"),
        _c("indigenous", "Indigenous", "of Indigenous descent"),
        _c("pacific_islander", "Pacific Islander", "of Pacific Islander descent"),
        _c("mixed", "Mixed heritage", "of mixed heritage"),
        _c("elf", "Elven (fantasy)", "with elven features and pointed ears"),
        _c("orc", "Orcish (fantasy)", "with orcish features and small tusks"),
    ),
    aliases=("race", "heritage"),
)

EYE_COLOR = Attribute(
    "eye_color",
    "Eye colour",
    (
        _c("brown", "Brown", "brown eyes", (101, 67, 33)),
        _c("dark_brown", "Dark brown", "dark brown eyes", (60, 38, 22)),
        _c("hazel", "Hazel", "hazel eyes", (142, 118, 60)),
        _c("amber", "Amber", "amber eyes", (200, 140, 30)),
        _c("green", "Green", "green eyes", (60, 140, 70)),
        _c("blue", "Blue", "blue eyes", (60, 120, 200)),
        _c("grey", "Grey", "grey eyes", (130, 140, 150)),
        _c("violet", "Violet", "violet eyes", (140, 80, 190)),
        _c("red", "Red", "glowing red eyes", (210, 30, 40)),
        _c("heterochromia", "Heterochromia", "heterochromatic eyes (one brown, one blue)", (60, 120, 200)),
    ),
    aliases=("eyes", "eye colour", "eye color"),
)

HAIR_COLOR = Attribute(
    "hair_color",
    "Hair colour",
    (
        _c("black", "Black", "black hair", (25, 22, 22)),
        _c("dark_brown", "Dark brown", "dark brown hair", (60, 40, 28)),
        _c("brown", "Brown", "brown hair", (110, 72, 42)),
        _c("auburn", "Auburn", "auburn hair", (150, 60, 30)),
        _c("red", "Red", "red hair", (190, 50, 30)),
        _c("ginger", "Ginger", "ginger hair", (214, 110, 40)),
        _c("blonde", "Blonde", "blonde hair", (230, 196, 110)),
        _c("platinum", "Platinum blonde", "platinum blonde hair", (236, 228, 200)),
        _c("grey", "Grey", "grey hair", (150, 150, 150)),
        _c("white", "White", "white hair", (240, 240, 236)),
        _c("blue", "Blue", "dyed blue hair", (40, 90, 210)),
        _c("pink", "Pink", "pastel pink hair", (240, 140, 180)),
        _c("purple", "Purple", "purple hair", (120, 50, 160)),
        _c("green", "Green", "green hair", (50, 150, 70)),
        _c("silver", "Silver", "silver hair", (200, 204, 212)),
    ),
    aliases=("hair", "hair colour", "hair color"),
)

HAIR_STYLE = Attribute(
    "hair_style",
    "Hair style",
    (
        _c("bald", "Bald", "a bald head"),
        _c("buzz_cut", "Buzz cut", "a buzz cut"),
        _c("short", "Short", "short well-groomed hair"),
        _c("pixie", "Pixie cut", "a pixie cut"),
        _c("bob", "Bob", "a chin-length bob"),
        _c("medium", "Shoulder length", "shoulder-length hair"),
        _c("long", "Long straight", "long straight hair"),
        _c("wavy", "Long wavy", "long wavy hair"),
        _c("curly", "Curly", "voluminous curly hair"),
        _c("afro", "Afro", "a full afro"),
        _c("braids", "Braids", "long braids"),
        _c("ponytail", "Ponytail", "hair tied in a ponytail"),
        _c("bun", "Bun", "hair tied up in a bun"),
        _c("mohawk", "Mohawk", "a spiked mohawk"),
        _c("undercut", "Undercut", "an undercut"),
        _c("dreadlocks", "Locs", "shoulder-length locs"),
    ),
    aliases=("hairstyle", "hair cut", "haircut"),
)

# A hair colour and a hair style make one noun phrase ("long wavy red hair", "an auburn pixie cut"; never "red
# hair and long wavy hair"): each style's phrase with {colour} where the colour's adjective goes ("red", "dyed
# blue": its phrase less "hair") and {a} for the article before it. None: no hair to colour, so the colour is
# left out ("a bald head"). Every hair style has an entry (a test checks).
HAIR_STYLE_WITH_COLOUR: dict[str, str | None] = {
    "bald": None,
    "buzz_cut": "{a} {colour} buzz cut",
    "short": "short well-groomed {colour} hair",
    "pixie": "{a} {colour} pixie cut",
    "bob": "a chin-length {colour} bob",
    "medium": "shoulder-length {colour} hair",
    "long": "long straight {colour} hair",
    "wavy": "long wavy {colour} hair",
    "curly": "voluminous curly {colour} hair",
    "afro": "a full {colour} afro",
    "braids": "long {colour} braids",
    "ponytail": "{colour} hair tied in a ponytail",
    "bun": "{colour} hair tied up in a bun",
    "mohawk": "a spiked {colour} mohawk",
    "undercut": "{a} {colour} undercut",
    "dreadlocks": "shoulder-length {colour} locs",
}


def article(word: str) -> str:
    """ "a" or "an" before a word, by its sound: "an auburn", "an 8-year-old", "an 11-year-old", "a red"."""
    return "an" if word[:1] in ("a", "e", "i", "o", "u") or word.startswith(("8", "11-", "18-")) else "a"


def hair_phrase(colour_key: object, style_key: object) -> str:
    """The hair as one noun phrase: "long wavy red hair", "an auburn pixie cut", "red hair", "a bald head";
    "" when neither is set (unknown keys, or values that are not keys, count as unset)."""
    colour = HAIR_COLOR.get(colour_key) if isinstance(colour_key, str) else None
    style = HAIR_STYLE.get(style_key) if isinstance(style_key, str) else None
    if colour is None or style is None:
        return (style or colour).phrase if (style or colour) else ""
    template = HAIR_STYLE_WITH_COLOUR.get(style.key)
    if template is None:
        return style.phrase
    adjective = colour.phrase.removesuffix(" hair")
    return template.format(a=article(adjective), colour=adjective)


FACIAL_HAIR = Attribute(
    "facial_hair",
    "Facial hair",
    (
        _c("none", "Clean-shaven", "clean-shaven"),
        _c("stubble", "Stubble", "light stubble"),
        _c("moustache", "Moustache", "a moustache"),
        _c("goatee", "Goatee", "a goatee"),
        _c("short_beard", "Short beard", "a short beard"),
        _c("full_beard", "Full beard", "a full beard"),
        _c("long_beard", "Long beard", "a long flowing beard"),
    ),
    aliases=("beard",),
)

BODY_TYPE = Attribute(
    "body_type",
    "Body type",
    (
        _c("slim", "Slim", "slim build"),
        _c("athletic", "Athletic", "athletic build"),
        _c("average", "Average", "average build"),
        _c("muscular", "Muscular", "muscular build"),
        _c("stocky", "Stocky", "stocky build"),
        _c("curvy", "Curvy", "curvy figure"),
        _c("heavyset", "Heavyset", "heavyset build"),
        _c("tall_lanky", "Tall and lanky", "tall, lanky frame"),
    ),
    aliases=("build", "body", "physique"),
)

CLOTHING = Attribute(
    "clothing",
    "Clothing",
    (
        _c("tshirt_jeans", "T-shirt and jeans", "a t-shirt and jeans"),
        _c("shirt", "Button-up shirt", "a button-up shirt"),
        _c("suit", "Tailored suit", "a tailored suit"),
        _c("dress", "Dress", "an elegant dress"),
        _c("hoodie", "Hoodie", "a hoodie"),
        _c("leather_jacket", "Leather jacket", "a leather jacket"),
        _c("armor", "Plate armour", "a suit of plate armour"),
        _c("robes", "Robes", "flowing robes"),
        _c("uniform", "Uniform", "a pressed uniform"),
        _c("lab_coat", "Lab coat", "a lab coat"),
        _c("cloak", "Hooded cloak", "a hooded travelling cloak"),
        _c("kimono", "Kimono", "a kimono"),
        _c("sweater", "Knit sweater", "a chunky knit sweater"),
        _c("spacesuit", "Spacesuit", "a sleek spacesuit"),
    ),
    aliases=("outfit", "clothes", "attire"),
)

CLOTHING_COLOR = Attribute(
    "clothing_color",
    "Clothing colour",
    (
        _c("black", "Black", "black", (30, 30, 34)),
        _c("white", "White", "white", (236, 236, 232)),
        _c("grey", "Grey", "grey", (128, 128, 132)),
        _c("navy", "Navy", "navy blue", (30, 44, 90)),
        _c("light_blue", "Light blue", "light blue", (140, 180, 224)),
        _c("red", "Red", "red", (180, 30, 40)),
        _c("burgundy", "Burgundy", "burgundy", (110, 24, 40)),
        _c("green", "Green", "green", (40, 120, 60)),
        _c("olive", "Olive", "olive green", (100, 110, 50)),
        _c("brown", "Brown", "brown", (110, 74, 44)),
        _c("beige", "Beige", "beige", (214, 196, 160)),
        _c("yellow", "Yellow", "mustard yellow", (220, 176, 40)),
        _c("purple", "Purple", "purple", (100, 50, 140)),
        _c("gold", "Gold", "gold", (212, 170, 60)),
        _c("silver", "Silver", "silver", (190, 194, 200)),
    ),
    aliases=("outfit colour", "outfit color", "clothing color", "clothes colour"),
)

CLOTHING_STYLE = Attribute(
    "clothing_style",
    "Clothing style",
    (
        _c("casual", "Casual", "casual style"),
        _c("formal", "Formal", "formal style"),
        _c("streetwear", "Streetwear", "streetwear style"),
        _c("business", "Business", "business attire"),
        _c("sporty", "Sporty", "sporty style"),
        _c("vintage", "Vintage", "vintage style"),
        _c("bohemian", "Bohemian", "bohemian style"),
        _c("gothic", "Gothic", "gothic style"),
        _c("punk", "Punk", "punk style"),
        _c("medieval", "Medieval", "medieval style"),
        _c("fantasy", "High fantasy", "high-fantasy style"),
        _c("cyberpunk", "Cyberpunk", "cyberpunk style with neon accents"),
        _c("steampunk", "Steampunk", "steampunk style with brass details"),
        _c("military", "Military", "military style"),
    ),
    aliases=("style of clothing", "fashion"),
)

ACCESSORIES = Attribute(
    "accessories",
    "Accessories",
    (
        _c("glasses", "Glasses", "glasses"),
        _c("sunglasses", "Sunglasses", "sunglasses"),
        _c("hat", "Hat", "a wide-brimmed hat"),
        _c("beanie", "Beanie", "a beanie"),
        _c("crown", "Crown", "a golden crown"),
        _c("earrings", "Earrings", "earrings"),
        _c("necklace", "Necklace", "a pendant necklace"),
        _c("scarf", "Scarf", "a scarf"),
        _c("wristwatch", "Wristwatch", "a wristwatch"),
        _c("headphones", "Headphones", "headphones"),
        _c("eyepatch", "Eyepatch", "an eyepatch"),
        _c("mask", "Mask", "a half mask"),
        _c("backpack", "Backpack", "a backpack"),
        _c("sword", "Sword", "a sword on the back"),
        _c("staff", "Staff", "a carved wooden staff"),
        _c("tattoos", "Tattoos", "visible tattoos"),
        _c("piercings", "Piercings", "facial piercings"),
        _c("flower", "Flower in hair", "a flower in the hair"),
    ),
    multiple=True,
    aliases=("accessory", "extras"),
    help_text="Choose any number.",
)

EXPRESSION = Attribute(
    "expression",
    "Expression",
    (
        _c("neutral", "Neutral", "a neutral expression"),
        _c("smiling", "Smiling", "a warm smile"),
        _c("laughing", "Laughing", "laughing"),
        _c("confident", "Confident", "a confident expression"),
        _c("serious", "Serious", "a serious expression"),
        _c("sad", "Sad", "a sad expression"),
        _c("angry", "Angry", "an angry scowl"),
        _c("surprised", "Surprised", "a surprised expression"),
        _c("thoughtful", "Thoughtful", "a thoughtful expression"),
        _c("mischievous", "Mischievous", "a mischievous grin"),
        _c("tired", "Tired", "a weary expression"),
    ),
    aliases=("mood", "emotion", "facial expression"),
)

POSE = Attribute(
    "pose",
    "Pose",
    (
        _c("front", "Facing forward", "facing forward with an upright posture"),
        _c("three_quarter", "Three-quarter view", "in a three-quarter view"),
        _c("profile", "Profile", "in profile"),
        _c("over_shoulder", "Looking over shoulder", "looking back over the shoulder"),
        _c("arms_crossed", "Arms crossed", "with arms crossed"),
        _c("hand_on_chin", "Hand on chin", "resting the chin on one hand"),
        _c("action", "Dynamic action", "in a dynamic action pose"),
        _c("sitting", "Sitting", "sitting"),
    ),
    aliases=("posture", "stance"),
)

ART_STYLE = Attribute(
    "art_style",
    "Art style",
    (
        _c("photorealistic", "Photorealistic", "photorealistic portrait"),
        _c("digital_painting", "Digital painting", "digital painting"),
        _c("oil_painting", "Oil painting", "oil painting"),
        _c("watercolor", "Watercolour", "watercolour painting"),
        _c("pencil_sketch", "Pencil sketch", "detailed pencil sketch"),
        _c("ink", "Ink drawing", "ink drawing"),
        _c("anime", "Anime", "anime-style illustration"),
        _c("comic", "Comic book", "comic book illustration"),
        _c("pixel_art", "Pixel art", "pixel art"),
        _c("low_poly", "Low poly 3D", "low-poly 3D render"),
        _c("3d_render", "3D render", "3D render"),
        _c("concept_art", "Concept art", "concept art"),
        _c("art_nouveau", "Art nouveau", "art nouveau illustration"),
        _c("impressionist", "Impressionist", "impressionist painting"),
    ),
    group="image",
    aliases=("style", "image type", "image style"),
)

TEXTURE = Attribute(
    "texture",
    "Texture",
    (
        _c("smooth", "Smooth", "smooth soft textures"),
        _c("painterly", "Painterly", "painterly brush strokes"),
        _c("grainy", "Film grain", "subtle film grain"),
        _c("canvas", "Canvas", "visible canvas texture"),
        _c("paper", "Paper", "textured paper"),
        _c("glossy", "Glossy", "glossy finish"),
        _c("matte", "Matte", "matte finish"),
    ),
    group="image",
)

DOMINANT_COLORS = Attribute(
    "dominant_colors",
    "Dominant colours",
    (
        _c("neutral", "Neutral", "neutral tones", (150, 140, 128)),
        _c("warm", "Warm", "warm tones", (214, 120, 60)),
        _c("cool", "Cool", "cool tones", (70, 120, 190)),
        _c("pastel", "Pastel", "pastel colours", (226, 196, 220)),
        _c("monochrome", "Monochrome", "monochrome palette", (128, 128, 128)),
        _c("earthy", "Earthy", "earthy tones", (130, 100, 64)),
        _c("jewel", "Jewel tones", "rich jewel tones", (30, 100, 110)),
        _c("neon", "Neon", "vivid neon colours", (240, 40, 200)),
        _c("sepia", "Sepia", "sepia tones", (160, 120, 80)),
    ),
    group="image",
    multiple=True,
    aliases=("colours", "colors", "palette", "dominant colour", "dominant color"),
    help_text="Choose any number.",
)

CONTRAST = Attribute(
    "contrast",
    "Contrast",
    (
        _c("low", "Low", "low contrast"),
        _c("moderate", "Moderate", "moderate contrast"),
        _c("high", "High", "high contrast"),
    ),
    group="image",
)

SHADING = Attribute(
    "shading",
    "Shading",
    (
        _c("soft", "Soft", "soft shading"),
        _c("hard", "Hard", "hard cel shading"),
        _c("dramatic", "Dramatic", "dramatic chiaroscuro shading"),
        _c("flat", "Flat", "flat shading"),
    ),
    group="image",
)

LIGHTING = Attribute(
    "lighting",
    "Lighting",
    (
        _c("soft", "Soft and diffuse", "soft diffuse lighting"),
        _c("studio", "Studio", "studio lighting"),
        _c("golden_hour", "Golden hour", "golden hour sunlight"),
        _c("rim", "Rim light", "rim lighting"),
        _c("neon", "Neon", "neon lighting"),
        _c("candlelight", "Candlelight", "warm candlelight"),
        _c("moonlight", "Moonlight", "cool moonlight"),
        _c("overcast", "Overcast", "overcast daylight"),
        _c("backlit", "Backlit", "backlit silhouette lighting"),
    ),
    group="image",
    aliases=("light",),
)

BACKGROUND = Attribute(
    "background",
    "Background",
    (
        _c("plain", "Plain", "a plain background", (226, 226, 222)),
        _c("gradient", "Gradient", "a soft gradient background", (160, 176, 200)),
        _c("studio", "Studio backdrop", "a grey studio backdrop", (120, 122, 128)),
        _c("forest", "Forest", "a misty forest background", (52, 96, 60)),
        _c("city", "City street", "a city street background", (90, 96, 110)),
        _c("night_city", "Neon city at night", "a neon-lit city at night", (30, 24, 60)),
        _c("castle", "Castle", "a castle hall background", (110, 98, 86)),
        _c("beach", "Beach", "a sunny beach background", (120, 190, 220)),
        _c("mountains", "Mountains", "a mountain landscape background", (110, 140, 170)),
        _c("space", "Outer space", "a starry outer space background", (10, 12, 30)),
        _c("library", "Library", "a cosy library background", (96, 64, 40)),
        _c("desert", "Desert", "a desert background", (220, 184, 120)),
        _c("none", "Transparent / none", "no background", (245, 245, 245)),
    ),
    group="image",
    aliases=("backdrop", "setting", "scene"),
)

CAMERA = Attribute(
    "camera",
    "Camera / framing",
    (
        _c("headshot", "Headshot", "close-up headshot"),
        _c("bust", "Head and shoulders", "head-and-shoulders portrait"),
        _c("half_body", "Half body", "half-body shot"),
        _c("full_body", "Full body", "full-body shot"),
        _c("low_angle", "Low angle", "low-angle shot"),
        _c("high_angle", "High angle", "high-angle shot"),
    ),
    group="image",
    aliases=("framing", "shot"),
)

LENS = Attribute(
    "lens",
    "Lens",
    (
        _c("35mm", "35 mm", "35mm lens"),
        _c("50mm", "50 mm", "50mm lens"),
        _c("85mm", "85 mm portrait", "85mm portrait lens with shallow depth of field"),
        _c("wide", "Wide angle", "wide-angle lens"),
        _c("telephoto", "Telephoto", "telephoto lens"),
        _c("macro", "Macro", "macro lens"),
    ),
    group="image",
)

ATTRIBUTES: tuple[Attribute, ...] = (
    GENDER,
    AGE,
    SKIN_TONE,
    ETHNICITY,
    EYE_COLOR,
    HAIR_COLOR,
    HAIR_STYLE,
    FACIAL_HAIR,
    BODY_TYPE,
    CLOTHING,
    CLOTHING_COLOR,
    CLOTHING_STYLE,
    ACCESSORIES,
    EXPRESSION,
    POSE,
    ART_STYLE,
    TEXTURE,
    DOMINANT_COLORS,
    CONTRAST,
    SHADING,
    LIGHTING,
    BACKGROUND,
    CAMERA,
    LENS,
)

BY_NAME: dict[str, Attribute] = {attribute.name: attribute for attribute in ATTRIBUTES}

# An exact age in years decides the age range (imports, the form, filters and the painter use the range).
_AGE_RANGES = (
    (12, "child"),
    (17, "teen"),
    (29, "young_adult"),
    (44, "adult"),
    (64, "middle_aged"),
    (130, "elderly"),
)
MAX_AGE_YEARS = _AGE_RANGES[-1][0]


def age_range(years: int) -> str | None:
    """The AGE choice for an exact age (a child under 13 is a child), or None past MAX_AGE_YEARS."""
    for upper, key in _AGE_RANGES:
        if years <= upper:
            return key
    return None


NAMES: tuple[str, ...] = tuple(BY_NAME)
APPEARANCE: tuple[Attribute, ...] = tuple(a for a in ATTRIBUTES if a.group == "appearance")
IMAGE: tuple[Attribute, ...] = tuple(a for a in ATTRIBUTES if a.group == "image")


def attribute(name: str) -> Attribute:
    return BY_NAME[name]


def normalise(text: str) -> str:
    """Fold a header or value for matching: case-, space-, dash- and underscore-insensitive."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def match_choice(attr: Attribute, value: str) -> Choice | None:
    """Find the choice a user meant by a key or a label (case- and spacing-insensitive)."""
    wanted = normalise(value)
    if not wanted:
        return None
    for choice in attr.choices:
        if wanted in (normalise(choice.key), normalise(choice.label), normalise(choice.phrase)):
            return choice
    return None
