() => document.getElementById('qa-page-view')?.scrollIntoView({block: 'nearest'})
