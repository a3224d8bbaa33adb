(() => {
  const form = document.getElementById("filters");
  if (!form) return;
  const rows = [...document.querySelectorAll("#changes tbody tr")];
  const boxes = [...form.querySelectorAll("input[type=checkbox]")];
  const search = document.getElementById("search");
  const shown = document.getElementById("shown");
  const apply = () => {
    const wanted = new Set(boxes.filter((b) => b.checked).map((b) => b.value));
    const query = search.value.trim().toLowerCase();
    let count = 0;
    for (const row of rows) {
      const match = wanted.has(row.dataset.action) &&
        (!query || row.textContent.toLowerCase().includes(query));
      row.hidden = !match;
      if (match) count += 1;
    }
    shown.textContent = `${count} of ${rows.length} shown`;
  };
  form.addEventListener("input", apply);
  form.addEventListener("submit", (event) => event.preventDefault());
  form.hidden = false;
  apply();
})();
