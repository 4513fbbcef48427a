/* Upload page: a file over the size limit is dropped by the upload box (react-dropzone's
   maxSize) without a word; say so, in Chinese, in #upload-size-note (an element no callback
   writes). The limit comes from the page (data-max-bytes, upload.MAX_FILE_BYTES). */
(function () {
  function note() { return document.getElementById('upload-size-note'); }
  function check(files) {
    var n = note();
    if (!n || !files || !files.length) return;
    var limit = parseInt(n.getAttribute('data-max-bytes'), 10);
    var big = Array.prototype.filter.call(files, function (f) { return f.size > limit; });
    if (!big.length) { n.hidden = true; n.textContent = ''; return; }
    var mb = function (b) { return (b / 1048576).toFixed(1); };
    n.textContent = big.map(function (f) {
      return '文件“' + f.name + '”有 ' + mb(f.size) + ' MB，超过 ' + Math.round(limit / 1048576) +
        ' MB 的上限，未上传：请删去多余的工作表、图片或空行后另存，或按地区拆成几个文件分别上传';
    }).join('；');
    n.hidden = false;
  }
  function inUpload(el) { return el && el.closest && el.closest('#upload-file'); }
  document.addEventListener('change', function (e) {
    if (e.target && e.target.type === 'file' && inUpload(e.target)) check(e.target.files);
  }, true);
  document.addEventListener('drop', function (e) {
    if (inUpload(e.target) && e.dataTransfer) check(e.dataTransfer.files);
  }, true);
})();
