() => setTimeout(() => {
  const answers = document.querySelectorAll('#qa-chat .qa-answer');
  const last = answers[answers.length - 1];
  let box = last && last.parentElement;
  while (box && box.scrollHeight <= box.clientHeight + 1) box = box.parentElement;
  if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 90;
}, 60)
