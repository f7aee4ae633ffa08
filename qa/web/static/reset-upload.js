() => new MutationObserver(() => {
  const box = document.getElementById('qa-upload');
  if (box && box.querySelector('.error')) box.querySelector('.clear-status button')?.click();
}).observe(document.body, {subtree: true, childList: true})
