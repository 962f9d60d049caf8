// The setup page's passphrase strength meter. The same conservative estimate as the server's
// (web/auth/passwords.py estimate_bits); the server decides, this only helps while typing.
"use strict";

(() => {
  const NEEDED = 50;

  function bits(text) {
    let pools = 0;
    if (/[a-z]/.test(text)) pools += 26;
    if (/[A-Z]/.test(text)) pools += 26;
    if (/[0-9]/.test(text)) pools += 10;
    if (/[!-/:-@[-`{-~ ]/.test(text)) pools += 33;
    if (/[^\x00-\x7f]/.test(text)) pools += 100;
    const chars = Array.from(text);
    const effective = chars.filter((c, i) => i === 0 || c !== chars[i - 1]).length;
    const distinct = new Set(chars).size;
    return Math.min(effective, distinct * 2) * Math.log2(Math.max(pools, 2));
  }

  document.addEventListener("DOMContentLoaded", () => {
    const input = document.getElementById("passphrase");
    const meter = document.getElementById("strength");
    const label = document.getElementById("strength-text");
    if (!input || !meter || !label) {
      return;
    }
    input.addEventListener("input", () => {
      const value = input.value;
      const estimate = bits(value);
      meter.value = Math.min(estimate, Number(meter.max));
      let words;
      if (!value) {
        words = "type a passphrase.";
      } else if (value.length < 12) {
        words = `too short (${value.length} of 12 characters).`;
      } else if (estimate < NEEDED) {
        words = `weak (about ${Math.round(estimate)} bits, ${NEEDED} needed): make it longer.`;
      } else if (estimate < 70) {
        words = `good (about ${Math.round(estimate)} bits).`;
      } else {
        words = `strong (about ${Math.round(estimate)} bits).`;
      }
      label.textContent = `Strength: ${words}`;
    });
  });
})();
