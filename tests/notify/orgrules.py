"""tests/notify/orgrules.py -- the organisation rules of the notify oracles

Shared by tests/notify/property.py and tests/notify/enron.py; written apart
from src/notify/org.c on purpose (an independent oracle), from the same
inputs: rules/notify/freemail.txt and the public suffix list.

  rules = Rules(FREEMAIL_TXT)
  reg = rules.registrable("mail.example.co.uk")   # "example.co.uk"
  rules.freemail("mail.example.co.uk", reg)       # False
"""
import os

PSL = "/usr/share/publicsuffix/public_suffix_list.dat"


class Rules:
    def __init__(self, freemail_txt, psl=PSL):
        # freemail.txt: "<domain> [comment]" or "<label>.*" (that label under any suffix)
        self.free_exact, self.free_label = set(), set()
        for line in open(freemail_txt, encoding="utf-8"):
            line = line.split("#", 1)[0].strip()
            if line:
                w = line.split()[0].lower()
                (self.free_label.add(w[:-2]) if w.endswith(".*") else self.free_exact.add(w))
        self.suffixes = set()
        if os.path.exists(psl):
            for line in open(psl, encoding="utf-8"):
                line = line.strip()
                if line and not line.startswith("//"):
                    self.suffixes.add(line)

    def registrable(self, dom, fallback=False):
        """The registrable domain of dom (public suffix + one label); None
        when dom is itself a public suffix, or when no suffix matches (then
        the last two labels instead with fallback)."""
        labels = dom.split(".")
        for i in range(len(labels)):
            s = ".".join(labels[i:])
            if s in self.suffixes or "*." + ".".join(labels[i + 1:]) in self.suffixes:
                return ".".join(labels[i - 1:]) if i > 0 else None
        return ".".join(labels[-2:]) if fallback and len(labels) >= 2 else None

    def freemail(self, dom, reg):
        """dom (under its registrable domain reg) is a free-mail domain: it or
        a parent up to reg is listed, or reg's first label is a "<label>.*"."""
        labels = dom.split(".")
        for i in range(len(labels)):
            d = ".".join(labels[i:])
            if d in self.free_exact or (d == reg and d.split(".")[0] in self.free_label):
                return True
            if d == reg:
                break
        return False
