// Dead letters list: a "select all shown" checkbox. Replay works without it.
"use strict";
(function () {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.hidden = false;
  const boxes = () => document.querySelectorAll('#dead-letters input[name="position"]');
  all.addEventListener("change", () => {
    for (const box of boxes()) box.checked = all.checked;
  });
})();
