const first = !window.qaOpenPage;
window.qaOpenPage = (cite) => trigger('click', {cite});
if (first) document.addEventListener('click', (event) => {
  const summary = event.target.closest('#qa-chat summary');
  const cite = summary && !summary.parentElement.open && summary.querySelector('button.qa-cite');
  if (cite) window.qaOpenPage(cite.value);
});
