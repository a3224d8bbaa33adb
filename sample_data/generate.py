"""Generate the synthetic HR export used by hr-connector's tests, demos and benchmarks.

Writes ``employees.csv`` and ``employees.xlsx`` (same rows, same values) for a fictional company,
Contoso, with offices in US, GB, DE, FR, ES, PL, SE and NL. Everything is made up; phone numbers use
fictional ranges where a country has one (US 555-01xx, Ofcom's drama ranges for GB). The output is
deterministic: a fixed seed, a fixed ``--as-of`` date (default 2026-11-26) and fixed workbook/zip
timestamps, so re-running the script reproduces both files byte for byte.

Deliberate features, each there to exercise something a real HR feed does to a sync tool:

* EmployeeID is 6-digit zero-padded *text* (``000001`` is the CEO, all others are below 100000),
  so any reader that lets the column become numeric loses the leading zeros. PostalCode has them
  too (Boston ``02110``, Dresden ``01099``, Barcelona ``08007``, Warszawa ``00-693``).
* Rows are sorted by EmployeeID, not by hierarchy, so many ManagerIDs point *forward* in the file.
* A ragged hierarchy of 6 levels: CEO -> VPs -> directors -> managers -> staff, plus team leads in
  Engineering (one level deeper) and two people reporting straight to the CEO. Exactly one root.
* Unicode and punctuation in names: José Núñez, Zoë O'Brien, Łukasz Wójcik, Søren Ødegård,
  François Lefèvre-Dupont, Jürgen Müller, Åsa Ångström, Robert "Bob" Ashworth-Jones (hyphenated),
  Pieter van der Berg (multi-word surname); Polish surnames agree with gender (Kowalski/Kowalska).
* Exactly two different people called John Smith (US Platform, GB Enterprise Sales); every other
  full name is unique (up to --count ~1000), so that pair is the one duplicate-name case a
  matcher must not merge.
* PreferredFirstName set for about half of the people whose first name has a common short form
  (Robert -> Bob, Małgorzata -> Gosia); empty for everybody else.
* Values that need CSV quoting or XML escaping: commas in JobTitle ("Director, Platform") and in a
  StreetAddress, ``&`` in Department ("Identity & Access", "FP&A"), apostrophes in names/addresses.
* State is empty for countries without one in the address (GB, FR, PL, SE, NL). ISO country codes
  (GB, never UK). Companies follow the country (Contoso Ltd, Contoso GmbH, ...). CostCenter is
  ``CC-<division><department>`` (Engineering = CC-4000, Platform = CC-4100).
* Lifecycle relative to --as-of: 8 pre-hires (HireDate 3-60 days ahead, Status Active; three within
  14 days), ~5% Terminated with a past TerminationDate (one terminated the day before as-of),
  3 Active people serving notice (future TerminationDate), ~3% on Leave including one manager whose
  team keeps reporting to them. Terminated people and pre-hires never manage anyone.
* Some staff titles say "Manager" without managing anyone (Partner Manager, Office Manager): the
  hierarchy comes from ManagerID only.
* ~10% Contractors; MobilePhone missing for some (more often for contractors), WorkPhone for a few.

Large organisations for benchmarks (``--count`` above ``VARIED_FROM``, written to a folder
outside the repository with ``--out``): surnames are built from per-country syllables (with
their diacritics; Spanish people carry two surnames, some Dutch ones a tussenvoegsel) and
first names come from larger pools, so full names stay mostly distinct at 100k and 1M
people the way a real workforce's do, instead of repeating a few thousand combinations.
Above 99,900 people EmployeeIDs have 7 digits. ``--format csv`` skips the workbook (a
million rows are more cells than a workbook the readers accept holds).

The XLSX has one sheet, ``Employees``; text cells are strings (format ``@``), HireDate and
TerminationDate are real date cells (format ``yyyy-mm-dd``) and empty values are empty cells.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.writer.excel import ExcelWriter  # type: ignore[import-untyped]

SEED = 20261126
DEFAULT_AS_OF = dt.date(2026, 11, 26)
DEFAULT_COUNT = 360
MIN_COUNT = 150
#: From this many people on, names come from the large pools (``VARIED``).
VARIED_FROM = 2_000
FIXED_TIMESTAMP = dt.datetime(2026, 1, 1, 0, 0, 0)
COLUMNS = [
    "EmployeeID", "FirstName", "LastName", "PreferredFirstName", "JobTitle", "Department",
    "Division", "CostCenter", "Company", "ManagerID", "Office", "StreetAddress", "City", "State",
    "PostalCode", "CountryCode", "MobilePhone", "WorkPhone", "HireDate", "TerminationDate",
    "Status", "WorkerType",
]
DATE_COLUMNS = {"HireDate", "TerminationDate"}

# country -> (company, weight, mobile pattern); '#' becomes a random digit.
COUNTRIES: dict[str, tuple[str, int, str]] = {
    "US": ("Contoso Inc.", 30, "+1 425 555 01##"), "GB": ("Contoso Ltd", 15, "+44 7700 900###"),
    "DE": ("Contoso GmbH", 15, "+49 151 ########"), "FR": ("Contoso SAS", 10, "+33 6 ## ## ## ##"),
    "ES": ("Contoso Iberia S.L.", 8, "+34 6## ### ###"),
    "PL": ("Contoso Polska Sp. z o.o.", 10, "+48 5## ### ###"),
    "SE": ("Contoso AB", 6, "+46 70 ### ## ##"), "NL": ("Contoso B.V.", 6, "+31 6 ########"),
}
# country -> offices: (Office, StreetAddress, City, State, PostalCode, work phone pattern)
OFFICES: dict[str, list[tuple[str, str, str, str, str, str]]] = {
    "US": [("Seattle HQ", "1 Contoso Way, Suite 400", "Seattle", "WA", "98101", "+1 206 555 01##"),
           ("Boston", "200 Congress Street", "Boston", "MA", "02110", "+1 617 555 01##"),
           ("Austin", "500 W 2nd Street", "Austin", "TX", "78701", "+1 512 555 01##")],
    "GB": [("London", "30 Finsbury Square", "London", "", "EC2A 1AG", "+44 20 7946 0###"),
           ("Manchester", "1 Spinningfields", "Manchester", "", "M3 3AP", "+44 161 496 0###")],
    "DE": [("Berlin", "Friedrichstraße 68", "Berlin", "Berlin", "10117", "+49 30 #######"),
           ("München", "Leopoldstraße 44", "München", "Bayern", "80802", "+49 89 #######"),
           ("Dresden", "Königsbrücker Straße 12", "Dresden", "Sachsen", "01099",
            "+49 351 #######")],
    "FR": [("Paris", "12 rue de la Chaussée-d'Antin", "Paris", "", "75009", "+33 1 ## ## ## ##"),
           ("Lyon", "5 place Bellecour", "Lyon", "", "69002", "+33 4 ## ## ## ##")],
    "ES": [("Madrid", "Calle de Alcalá 45", "Madrid", "Comunidad de Madrid", "28014",
            "+34 91 ### ## ##"),
           ("Barcelona", "Passeig de Gràcia 21", "Barcelona", "Cataluña", "08007",
            "+34 93 ### ## ##")],
    "PL": [("Warszawa", "ul. Marszałkowska 89", "Warszawa", "", "00-693", "+48 22 ### ## ##"),
           ("Kraków", "ul. Floriańska 15", "Kraków", "", "31-019", "+48 12 ### ## ##")],
    "SE": [("Stockholm", "Drottninggatan 33", "Stockholm", "", "111 51", "+46 8 ### ### ##"),
           ("Göteborg", "Kungsportsavenyen 10", "Göteborg", "", "411 36", "+46 31 ### ## ##")],
    "NL": [("Amsterdam", "Herengracht 182", "Amsterdam", "", "1016 BR", "+31 20 ### ####")],
}
# country -> (first names, last names), space-separated; "_" stands for a space inside a name
NAMES: dict[str, tuple[str, str]] = {
    "US": ("James Robert Michael William David Jennifer Patricia Elizabeth Maria Christopher "
           "Jessica Ashley Daniel Matthew Katherine Andrew Emily Joshua Olivia Tyler Aaliyah "
           "DeShawn Mei Priya Carlos John",
           "Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
           "Wilson Anderson Thomas Taylor Moore Jackson Lee Nguyen Patel Kim O'Connor McAllister "
           "Washington Chen Smith"),
    "GB": ("Oliver Harry George Amelia Isla Charlotte Thomas Alexander Margaret Siobhan Niamh "
           "Rhys Callum Eleanor Mohammed Aoife Gareth Fiona William John",
           "Smith Jones Taylor Brown Evans Wright Walker Hughes O'Neill Davies Khan Ali MacDonald "
           "Fitzgerald Robinson Thompson Clarke Wood Cholmondeley-Warner"),
    "DE": ("Lukas Jürgen Jörg Maximilian Anna Lena Sophie Katharina Johannes Felix Günther "
           "Sabine Björn Ursula Matthias Lea Niklas Hannah Stefan Marie",
           "Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
           "Bauer Richter Klein Wolf Schröder Neumann Zimmermann Groß Krüger"),
    "FR": ("Jean Hélène Chloé Léa Camille Théo Noémie Benoît Céline Jérôme Amélie Louis Gaëlle "
           "Sébastien Inès Anaïs Maël Clément Margaux Étienne",
           "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
           "Lefèvre Michel Fournier Girard Bonnet D'Arcy Rousseau Mercier Béranger"),
    "ES": ("María Carmen Ana Lucía Sofía Martina Javier Alejandro Pablo Álvaro Sergio Íñigo "
           "Begoña Nuria Raúl Jesús Inés Iker Ainhoa Francisco",
           "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín "
           "Jiménez Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Ibáñez"),
    "PL": ("Paweł Michał Krzysztof Piotr Tomasz Kamil Wojciech Agnieszka Małgorzata Katarzyna "
           "Magdalena Joanna Zofia Żaneta Bartłomiej Grażyna Jędrzej Aleksandra Ewa",
           "Nowak Kowalski Wiśniewski Kowalczyk Kamiński Lewandowski Zieliński Szymański "
           "Woźniak Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Krawczyk Grabowski Król "
           "Wieczorek Jabłoński"),
    "SE": ("Erik Lars Anders Johan Karl Nils Björn Astrid Ingrid Linnéa Maja Elsa Sofia Göran "
           "Märta Oskar Sven Elin Ebba",
           "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson "
           "Gustafsson Lindström Åkesson Bergström Sjöberg Öberg Lindqvist Ekström Hägglund"),
    "NL": ("Daan Sem Lucas Jan Thijs Bram Sanne Femke Eva Lotte Anouk Joost Maarten Floor Ruud "
           "Ilse Niels Sophie Jeroen",
           "de_Jong Jansen de_Vries van_den_Berg van_Dijk Bakker Visser Smit Meijer de_Boer Mulder "
           "de_Groot Bos Vos Hendriks van_Leeuwen Dekker Brouwer van_der_Meer"),
}
PREFERRED = {
    "Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Katherine": "Kate",
    "Michael": "Mike", "Christopher": "Chris", "Jennifer": "Jen", "Alexander": "Alex",
    "Margaret": "Maggie", "Matthew": "Matt", "Daniel": "Dan", "Andrew": "Andy", "Thomas": "Tom",
    "Maximilian": "Max", "Johannes": "Hannes", "Katharina": "Kathi", "Aleksandra": "Ola",
    "Małgorzata": "Gosia", "Wojciech": "Wojtek", "Bartłomiej": "Bartek", "Francisco": "Paco",
    "Sébastien": "Seb", "Alejandro": "Álex",
}
# Large pools for big organisations: country -> (more first names, surname beginnings,
# middles, endings); a surname is beginning + ending, or beginning + middle + ending.
VARIED: dict[str, tuple[str, str, str, str]] = {
    "US": ("Mary Linda Barbara Susan Karen Nancy Lisa Betty Sandra Donna Joseph Charles Steven "
           "Paul Mark Donald George Kenneth Brian Kevin Jason Ryan Jacob Gary Nicole Rachel "
           "Megan Laura Amanda Stephanie Rebecca Sharon Hannah Madison Brandon Justin Kayla "
           "Latoya Jamal Hiroshi Ana Sofia Luis Alejandro Anh Minh Raj Aisha",
           "Har Ash Brad Cal Dun Ell Fair Gold Hol Kings Lang Mar Mor New Pem Red Roth Sand "
           "Stan Thorn Well Whit Wood Black Brook Carr Green Hart Law Stock",
           "ing ford ble ming bur ley ring ton",
           "son ton ley field worth wood man ford well ridge land by more dale wick ham bury "
           "ington sworth stead den ett ell er"),
    "GB": ("Jack Noah Leo Arthur Freddie Archie Alfie Oscar Jacob Ava Mia Ivy Freya Poppy "
           "Florence Evie Rosie Imogen Harriet Alistair Hamish Iain Morag Eilidh Catrin Dylan "
           "Bethan Sinead Declan Ciaran Priya Arjun Ayesha Imran Bronwen Euan Ailsa",
           "Ald Ash Bar Black Brad Chil Dal Edge Fen Glad Haw Kil Lock Mac Mel North Pen Rad "
           "Shel Strat Tre Wal Whit Wins Wor",
           "ing ling ter ber more den",
           "ton field worth ley hurst wick combe shaw ham bury ridge wood stone more ford son "
           "by thorpe gate burn"),
    "DE": ("Paul Jonas Leon Elias Finn Noah Luis Ben Moritz Emil Mia Emma Lina Clara Leonie "
           "Jana Greta Käthe Jürgen Dörte Jens Uwe Heike Birgit Dieter Wolfgang Gisela Hildegard "
           "Björn Sönke Frauke Götz Annegret Ömer Ayşe",
           "Bäh Berg Brüg Dör Eich Fal Gött Groß Hüb Kähl Kess Kirch Kreu Löw Mühl Nuß Ober "
           "Pfeif Rhein Schön Stein Sträß Wald Weiß Wüst Zöll",
           "en er el ling ner hof",
           "mann er ler ner hardt berg feld bach stein hofer mayr huber kamp brück thal haus "
           "wald bauer meier schmid egger"),
    "FR": ("Gabriel Raphaël Arthur Jules Adam Hugo Lucas Nathan Zoé Manon Jade Louise Alice "
           "Océane Maëlys Héloïse Clémence Aurélie Frédéric Stéphane Grégoire Rémi Gaëtan Loïc "
           "Thérèse Mélanie Solène Inès Yanis Mehdi",
           "Beau Bel Bou Cha Che Cour Dela Des Du Fau Fon Gau Gra La Le Mar Mon Pel Ro Sau Ver "
           "Vil",
           "ran mon cour ber lan",
           "court mont champ fort lière rière ville vert nier lard rand det reau chet quet tier "
           "pont val mès bès"),
    "ES": ("Lucía Paula Daniela Valeria Julia Alba Irene Marta Elena Noelia Ángela Rocío "
           "Íñigo Hugo Mateo Leo Marcos Adrián Álvaro Gonzalo Rubén Óscar Andrés Joaquín Ramón "
           "Nicolás Matías Sebastián Aitor Unai",
           "Al Ba Bel Cas Cer Es Fi Gal Ibá Lar Mén Mon Ná Or Pa Ruí Sal Tal Val Ve Za",
           "ca ri do le ta",
           "rez ñez dez guez nández rado ruela ñoz ldo rcía vera jano llo rro bal ndo tín zón "
           "nte riz"),
    "PL": ("Antoni Jan Jakub Szymon Franciszek Filip Aleksander Mikołaj Wiktor Stanisław "
           "Zuzanna Julia Maja Hanna Oliwia Alicja Łucja Wiktoria Lena Emilia Jadwiga Bożena "
           "Dorota Halina Władysław Zbigniew Ryszard Grzegorz Sławomir Jarosław",
           "Bar Bło Cho Dą Gór Grze Jan Kacz Kró Kwia Lew Małe Nie Ol Pie Rad Sob Szcz Śli Wą "
           "Woj Zaj Żu",
           "ro la ko ni sz",
           "kowski nowski wicz czak ński siak czyk lak rek szek dzki decki ski nik wiec ła ga "
           "lski"),
    "SE": ("Alice Maja Vera Alma Selma Elsa Freja Saga Agnes Stina Hugo William Liam Noah "
           "Lucas Oliver Axel Ludvig Viktor Åke Östen Gösta Märit Birgitta Ulla Inger Leif "
           "Ragnar Torbjörn Björn Sölve",
           "Ahl Berg Dahl Ek Fors Hed Hög Hol Lind Ljung Malm Nord Öst Sand Sjö Ström Sund "
           "Väst Åker Ängs",
           "e gren berg",
           "gren berg ström qvist blad lund dahl holm man sten vall mark bom fors hag stedt "
           "lin ling"),
    "NL": ("Noah Liam Luuk Milan Finn Lars Jesse Sven Ruben Gijs Emma Julia Mila Tess Sara "
           "Zoë Fleur Roos Evi Lieke Koen Wouter Pieter Hendrik Anneke Marijke Geert Henk Ilse "
           "Bram",
           "Berk Bos Brink Dijk Groen Hout Kamp Kerk Kool Linde Meer Molen Noord Rijn Schol "
           "Steen Ter Velde Vliet Wester Zand",
           "e en er",
           "man mans hof hout veld dijk kamp berg huis brink horst link ink stra ma sma ga"),
}
#: Dutch surname prefixes (tussenvoegsels) a share of varied Dutch surnames carry.
TUSSENVOEGSELS = ("van", "de", "van der", "van den", "ter", "van de")
# division -> (cost-centre base, staffing weight, {department: staff job titles, "|"-separated})
DIVISIONS: dict[str, tuple[int, int, dict[str, str]]] = {
    "Finance": (2000, 1, {
        "Accounting": "Accountant|Senior Accountant|Payroll Specialist",
        "FP&A": "Financial Analyst|Senior Financial Analyst",
        "Procurement": "Procurement Specialist|Buyer"}),
    "People": (3000, 1, {
        "HR Operations": "HR Generalist|HR Business Partner|People Operations Specialist",
        "Talent Acquisition": "Recruiter|Senior Recruiter|Sourcer"}),
    "Engineering": (4000, 3, {
        "Platform": "Software Engineer|Senior Software Engineer|Site Reliability Engineer",
        "Identity & Access": "Software Engineer|Security Engineer|QA Engineer",
        "Data": "Data Engineer|Data Scientist|Analytics Engineer",
        "Mobile": "iOS Engineer|Android Engineer|Product Designer"}),
    "Sales": (5000, 2, {
        "Enterprise Sales": "Account Executive|Solutions Consultant",
        "Inside Sales": "Sales Development Representative|Inside Sales Representative",
        "Partnerships": "Partner Manager|Channel Sales Specialist"}),
    "Operations": (6000, 1, {
        "IT Support": "IT Support Technician|Systems Administrator",
        "Facilities": "Facilities Coordinator|Office Manager"}),
    "Marketing": (7000, 1, {
        "Brand": "Brand Designer|Content Writer|Marketing Specialist",
        "Growth": "Growth Analyst|Marketing Specialist|SEO Specialist"}),
}
# (FirstName, LastName, PreferredFirstName, CountryCode, Department): people who must exist.
FIXED_PEOPLE = [
    ("John", "Smith", "", "US", "Platform"), ("John", "Smith", "", "GB", "Enterprise Sales"),
    ("José", "Núñez", "", "ES", "Inside Sales"), ("Zoë", "O'Brien", "", "GB", "Talent Acquisition"),
    ("Łukasz", "Wójcik", "", "PL", "Identity & Access"), ("Søren", "Ødegård", "", "SE", "Mobile"),
    ("François", "Lefèvre-Dupont", "", "FR", "Accounting"), ("Jürgen", "Müller", "", "DE", "Data"),
    ("Åsa", "Ångström", "", "SE", "Growth"), ("Pieter", "van der Berg", "", "NL", "Data"),
    ("Robert", "Ashworth-Jones", "Bob", "GB", "FP&A"),
]


@dataclass
class Person:
    """One worker while the data is being built; becomes a row at the end."""

    division: str
    department: str
    cost_center: str
    title: str
    country: str
    manager: Person | None
    first: str = ""
    last: str = ""
    preferred: str = ""
    emp_id: str = ""
    hire: dt.date | None = None
    termination: dt.date | None = None
    status: str = "Active"
    worker_type: str = "Employee"
    fixed: bool = False


def digits(rng: random.Random, pattern: str) -> str:
    """Replace every '#' in a phone pattern with a random digit."""
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)


def pick_country(rng: random.Random) -> str:
    """A country code, weighted by head count."""
    return rng.choices(list(COUNTRIES), weights=[c[1] for c in COUNTRIES.values()])[0]


def build_org(rng: random.Random, count: int) -> list[Person]:
    """CEO, VPs, directors, managers, staff and Engineering team leads, without names."""
    people: list[Person] = []

    def add(div: str, dept: str, cc: str, title: str, country: str, mgr: Person | None) -> Person:
        people.append(Person(div, dept, cc, title, country, mgr))
        return people[-1]

    ceo = add("Executive", "Office of the CEO", "CC-1000", "Chief Executive Officer", "US", None)
    add("Executive", "Office of the CEO", "CC-1000", "Chief of Staff", "US", ceo)
    add("Executive", "Office of the CEO", "CC-1000", "Executive Assistant", "US", ceo)
    managers: list[Person] = []
    for division, (base, _weight, departments) in DIVISIONS.items():
        vp = add(division, f"{division} Leadership", f"CC-{base}", f"VP, {division}",
                 pick_country(rng), ceo)
        for i, dept in enumerate(departments, start=1):
            cc = f"CC-{base + 100 * i}"
            director = add(division, dept, cc, f"Director, {dept}", pick_country(rng), vp)
            for _ in range(2):
                managers.append(add(division, dept, cc, f"{dept} Manager", pick_country(rng),
                                    director))
    weights = [DIVISIONS[m.division][1] for m in managers]
    for _ in range(count - len(people)):
        mgr = rng.choices(managers, weights=weights)[0]
        country = mgr.country if rng.random() < 0.75 else pick_country(rng)
        title = rng.choice(DIVISIONS[mgr.division][2][mgr.department].split("|"))
        add(mgr.division, mgr.department, mgr.cost_center, title, country, mgr)
    for mgr in managers:  # team leads make Engineering one level deeper than the rest
        team = [p for p in people if p.manager is mgr]
        if mgr.division == "Engineering" and len(team) >= 6:
            team[0].title = f"Team Lead, {mgr.department}"
            for member in team[1:4]:
                member.manager = team[0]
    return people


def assign_names(rng: random.Random, people: list[Person], leaves: list[Person]) -> None:
    """Put the fixed people on leaf positions, then give everyone else a unique name."""
    used: set[tuple[str, str]] = set()
    reserved = {(first, last) for first, last, *_ in FIXED_PEOPLE}
    for first, last, preferred, country, dept in FIXED_PEOPLE:
        spot = next((p for p in leaves if not p.fixed and p.department == dept),
                    next(p for p in leaves if not p.fixed))
        spot.first, spot.last, spot.preferred, spot.country = first, last, preferred, country
        spot.fixed = True
        used.add((first, last))
    pools = {country: (firsts.split(), lasts.split()) for country, (firsts, lasts)
             in NAMES.items()}
    varied = len(people) >= VARIED_FROM
    if varied:
        pools = {country: (firsts + VARIED[country][0].split(), lasts)
                 for country, (firsts, lasts) in pools.items()}
    for person in people:
        if person.fixed:
            continue
        firsts, lasts = pools[person.country]
        for attempt in range(1_000_000):  # unique while the pools last (~4x the default count)
            person.first = rng.choice(firsts)
            person.last = (varied_surname(rng, person.country) if varied and rng.random() < 0.9
                           else rng.choice(lasts).replace("_", " "))
            if person.country == "PL" and person.first.endswith("a") and person.last.endswith("i"):
                person.last = person.last[:-1] + "a"  # Kowalski -> Kowalska
            name = (person.first, person.last)
            if name not in reserved and (name not in used or attempt >= 100):
                break
        used.add((person.first, person.last))
        if person.first in PREFERRED and rng.random() < 0.5:
            person.preferred = PREFERRED[person.first]


def varied_surname(rng: random.Random, country: str) -> str:
    """A made-up surname in the style of ``country`` (``VARIED``)."""
    _, beginnings, middles, endings = VARIED[country]
    parts = [rng.choice(beginnings.split())]
    if rng.random() < 0.5:
        parts.append(rng.choice(middles.split()))
    parts.append(rng.choice(endings.split()))
    name = "".join(parts)
    name = name[0] + name[1:].lower()
    if country == "ES":  # two surnames, the father's and the mother's
        other = varied_surname(rng, "US") if rng.random() < 0.02 else "".join(
            [rng.choice(beginnings.split()), rng.choice(endings.split())])
        name = f"{name} {other[0]}{other[1:].lower()}"
    elif country == "NL" and rng.random() < 0.3:
        name = f"{rng.choice(TUSSENVOEGSELS)} {name}"
    return name


def assign_lifecycle(rng: random.Random, people: list[Person], leaves: list[Person],
                     as_of: dt.date) -> None:
    """Hire dates for all; pre-hires, leavers, notice periods, leave and contractors."""
    for person in people:
        senior = person.manager is None or person.manager.manager is None
        person.hire = as_of - dt.timedelta(days=rng.randint(1500, 6000) if senior
                                           else rng.randint(20, 5000))
    pool = [p for p in leaves if not p.fixed]
    count = len(people)
    n_term, n_leave = round(count * 0.05), round(count * 0.03)
    prehires, pool = pool[:8], pool[8:]
    for i, person in enumerate(prehires):
        ahead = rng.randint(3, 14) if i < 3 else rng.randint(15, 60)
        person.hire = as_of + dt.timedelta(days=ahead)
    terminated, pool = pool[:n_term], pool[n_term:]
    for i, person in enumerate(terminated):
        person.status = "Terminated"
        person.termination = as_of - dt.timedelta(days=1 if i == 0 else rng.randint(2, 330))
        person.hire = person.termination - dt.timedelta(days=rng.randint(90, 3000))
    notice, pool = pool[:3], pool[3:]
    for person in notice:
        person.termination = as_of + dt.timedelta(days=rng.randint(5, 45))
    for person in pool[: n_leave - 1]:
        person.status = "Leave"
    line_managers = [p for p in people if p.manager and p.manager.title.startswith("Director, ")]
    rng.choice(line_managers).status = "Leave"
    contractors = [p for p in leaves if not p.fixed]
    for person in rng.sample(contractors, round(count * 0.10)):
        person.worker_type = "Contractor"


def build_rows(as_of: dt.date = DEFAULT_AS_OF, count: int = DEFAULT_COUNT) -> list[list[str]]:
    """All rows as CSV text values, sorted by EmployeeID."""
    if count < MIN_COUNT:
        raise ValueError(f"--count must be at least {MIN_COUNT}")
    rng = random.Random(SEED)
    people = build_org(rng, count)
    managers = {id(p.manager) for p in people if p.manager is not None}
    leaves = [p for p in people if id(p) not in managers and p.manager is not None
              and p.manager.manager is not None]
    rng.shuffle(leaves)
    assign_names(rng, people, leaves)
    assign_lifecycle(rng, people, leaves, as_of)
    # 6 digits, all below 100000, while they last; 7 digits for larger organisations.
    width, top = (6, 100_000) if count <= 99_900 else (7, 10_000_000)
    ids = ["1".zfill(width)] + [f"{n:0{width}d}" for n in rng.sample(range(100, top), count - 1)]
    for person, emp_id in zip(people, ids, strict=True):
        person.emp_id = emp_id
    rows: list[list[str]] = []
    for p in people:
        offices = OFFICES[p.country]  # the executive office sits at headquarters
        office = offices[0] if p.division == "Executive" else rng.choice(offices)
        no_mobile = rng.random() < (0.4 if p.worker_type == "Contractor" else 0.1)
        mobile = "" if no_mobile else digits(rng, COUNTRIES[p.country][2])
        work = "" if rng.random() < 0.04 else digits(rng, office[5])
        rows.append([
            p.emp_id, p.first, p.last, p.preferred, p.title, p.department, p.division,
            p.cost_center, COUNTRIES[p.country][0], p.manager.emp_id if p.manager else "",
            *office[:5], p.country, mobile, work, p.hire.isoformat() if p.hire else "",
            p.termination.isoformat() if p.termination else "", p.status, p.worker_type,
        ])
    return sorted(rows, key=lambda row: row[0])


def write_csv(rows: list[list[str]], path: Path) -> None:
    """UTF-8 (no BOM), comma-separated, LF line endings, minimal quoting, header first."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def write_xlsx(rows: list[list[str]], path: Path) -> None:
    """One 'Employees' sheet; text as strings, dates as date cells; fixed timestamps throughout."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Employees"
    sheet.append(COLUMNS)
    for r, row in enumerate(rows, start=2):
        for c, (column, value) in enumerate(zip(COLUMNS, row, strict=True), start=1):
            if not value:
                continue  # empty stays an empty cell
            if column in DATE_COLUMNS:
                sheet.cell(row=r, column=c, value=dt.date.fromisoformat(value)).number_format = (
                    "yyyy-mm-dd")
            else:
                sheet.cell(row=r, column=c, value=value).number_format = "@"
    workbook.properties.creator = "hr-connector sample_data/generate.py"
    workbook.properties.created = FIXED_TIMESTAMP
    workbook.properties.modified = FIXED_TIMESTAMP
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()  # unlike save(), keeps our 'modified'
    stamp = FIXED_TIMESTAMP.timetuple()[:6]
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():  # re-pack with fixed entry times so the bytes reproduce
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info.filename))


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=DEFAULT_AS_OF)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--format", choices=("both", "csv", "xlsx"), default="both",
                        help="which files to write (default both)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.count < MIN_COUNT:
        parser.error(f"--count must be at least {MIN_COUNT}")
    rows = build_rows(args.as_of, args.count)
    written = []
    if args.format in ("both", "csv"):
        write_csv(rows, out / "employees.csv")
        written.append(out / "employees.csv")
    if args.format in ("both", "xlsx"):
        write_xlsx(rows, out / "employees.xlsx")
        written.append(out / "employees.xlsx")
    print(f"wrote {len(rows)} rows to " + " and ".join(str(path) for path in written))


if __name__ == "__main__":
    main()
