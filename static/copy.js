// Copy buttons: <button data-copy="#input-id" hidden> copies that field's value; shown only where JS runs.
document.querySelectorAll("[data-copy]").forEach((button) => {
  button.hidden = false;
  const label = button.querySelector("[data-copy-label]") || button;
  button.addEventListener("click", async () => {
    const field = document.querySelector(button.dataset.copy);
    if (!field) return;
    try {
      await navigator.clipboard.writeText(field.value);
    } catch {
      field.select();
      document.execCommand("copy");
    }
    label.textContent = "Copied";
    setTimeout(() => { label.textContent = "Copy"; }, 2000);
  });
});
