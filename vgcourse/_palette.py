"""The course's line colours: the Okabe–Ito palette, told apart by readers with any common
colour-vision deficiency (Okabe and Ito, "Color Universal Design", 2008). Black first, then
orange, sky blue, bluish green, yellow, blue, vermillion and reddish purple; the yellow is
last among the lines drawn (it is light on white), so plots take them in this order."""

OKABE_ITO: tuple[str, ...] = (
    "#000000",  # black
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
)
