/* Tessera /app: progressive enhancement on server-rendered pages (jQuery + Select2 3.5 from
 * Flask-Admin's bundled assets). Everything works without it except inline edit, drag and drop
 * and type-ahead lookups. HTML received from the server is rendered and escaped there; text from
 * JSON is inserted with .text(), never as HTML. */
(function ($) {
  'use strict';

  var csrf = $('meta[name="csrf-token"]').attr('content');
  $.ajaxSetup({ headers: { 'X-CSRFToken': csrf } });

  // -- feedback ------------------------------------------------------------------------------
  function toast(message, kind) {
    var $t = $('<div class="app-toast" role="status"></div>').addClass('toast-' + (kind || 'info')).text(message);
    $('#toasts').append($t);
    setTimeout(function () { $t.fadeOut(250, function () { $t.remove(); }); }, kind === 'danger' ? 8000 : 2500);
  }

  function errorText(xhr) {
    var body = xhr && xhr.responseJSON;
    if (body && body.error) {
      var e = body.error, parts = [];
      if (e.rules && e.rules.length) {
        return $.map(e.rules, function (r) { return r.message; }).join(' ');
      }
      if (e.fields) {
        $.each(e.fields, function (name, msgs) { parts.push(msgs.join('; ')); });
      }
      return parts.length ? parts.join(' ') : (e.message || 'The change was not saved.');
    }
    if (xhr && xhr.status === 0) { return 'The server could not be reached. Check your connection.'; }
    return 'The change was not saved (error ' + (xhr ? xhr.status : '?') + ').';
  }

  function patch(url, values, extra) {
    return $.ajax({
      url: url, method: 'PATCH', contentType: 'application/json', dataType: 'json',
      data: JSON.stringify($.extend({ values: values, app: $('.app-header').attr('data-app') || '' }, extra || {}))
    });
  }

  // -- widgets: Select2 for multi-picklists and lookups ------------------------------------------
  function initWidgets(root) {
    if (!$.fn.select2) { return; }
    $(root).find('select.js-multi').each(function () {
      var $s = $(this);
      if ($s.data('select2')) { return; }
      $s.select2({ width: '100%', placeholder: $s.attr('data-placeholder') || '' });
    });
    $(root).find('input.js-lookup').each(function () {
      var $i = $(this);
      if ($i.data('select2')) { return; }
      $i.select2({
        width: '100%',
        placeholder: $i.attr('data-placeholder') || 'Search…',
        allowClear: $i.attr('data-allow-clear') === 'true',
        minimumInputLength: 0,
        ajax: {
          url: $i.attr('data-url'), dataType: 'json', quietMillis: 200,
          data: function (term) { return { q: term }; },
          results: function (data) { return { results: (data && data.results) || [], more: false }; }
        },
        initSelection: function (el, callback) {
          var id = $(el).val();
          if (id) { callback({ id: id, text: $(el).attr('data-text') || id }); }
        },
        formatNoMatches: function () { return 'No matches'; },
        formatSearching: function () { return 'Searching…'; }
      });
    });
    initRelated(root);
  }

  // -- related_to: an object picker beside a lookup of that object's records; the hidden input
  //    sends "object:id" (meta/related.py)
  function initRelated(root) {
    if (!$.fn.select2) { return; }
    $(root).find('.related-picker').each(function () {
      var $p = $(this), $obj = $p.find('select.related-object'), $hidden = $p.find('input.related-value');
      var $i = $p.find('input.js-related-lookup'), urls = $p.data('urls') || {};
      if ($i.data('select2')) { return; }
      $i.select2({
        width: '100%', placeholder: $i.attr('data-placeholder') || 'Search…',
        allowClear: $i.attr('data-allow-clear') === 'true', minimumInputLength: 0,
        ajax: {
          url: function () { return urls[$obj.val()]; }, dataType: 'json', quietMillis: 200,
          data: function (term) { return { q: term }; },
          results: function (data) { return { results: (data && data.results) || [], more: false }; }
        },
        initSelection: function (el, callback) {
          var id = $(el).val();
          if (id) { callback({ id: id, text: $(el).attr('data-text') || id }); }
        },
        formatNoMatches: function () { return 'No matches'; },
        formatSearching: function () { return 'Searching…'; }
      });
      $i.on('change', function () {
        var id = $i.val();
        $hidden.val(id ? $obj.val() + ':' + id : '').trigger('change');
      });
      $obj.on('change', function () { $i.select2('val', ''); $hidden.val('').trigger('change'); });
    });
  }

  $(function () { initWidgets(document); });

  // -- copy-on-select: picking a lookup fills the fields copied from it (records/copies.py), as
  //    the save would; a field the user typed in is left alone, and the server decides on save.
  $(document).on('input change', 'form :input:not(.js-lookup)', function () { $(this).attr('data-user-edited', '1'); });
  $(document).on('change', 'input.js-lookup[data-copy-url]', function () {
    var $lookup = $(this), $form = $lookup.closest('form'), id = $lookup.val();
    function fill(values) {
      $.each(values, function (name, value) {
        var $input = $form.find('[name="' + name + '"]').not('[type=hidden]');
        if (!$input.length || $input.attr('data-user-edited')) { return; }
        if ($input.is(':checkbox')) { $input.prop('checked', !!value); }
        else { $input.val(value); if ($input.data('select2')) { $input.trigger('change.select2'); } }
        $input.addClass('copied-value');
      });
    }
    if (!id) {
      var cleared = {};
      $form.find('.copied-value').each(function () { cleared[this.name] = ''; });
      fill(cleared);
      return;
    }
    $.getJSON($lookup.attr('data-copy-url'), { id: id }).done(function (data) { fill((data && data.values) || {}); });
  });

  $(document).on('click', '.js-back', function (e) {
    if (window.history.length > 1) { e.preventDefault(); window.history.back(); }
  });

  // -- list: bulk selection, bulk update field chooser, columns chooser ---------------------------
  function syncBulk() {
    var $form = $('#bulk-form');
    var $checks = $form.find('.row-check'), n = $checks.filter(':checked').length;
    $('#bulk-count, .js-bulk-count').text(n);
    $('#bulk-bar').prop('hidden', n === 0);
    $('#check-all').prop('checked', n > 0 && n === $checks.length).prop('indeterminate', n > 0 && n < $checks.length);
    $checks.each(function () { $(this).closest('tr').toggleClass('selected', this.checked); });
  }
  $(document).on('change', '.row-check', syncBulk);
  $(document).on('change', '#check-all', function () {
    $('#bulk-form .row-check').prop('checked', this.checked);
    syncBulk();
  });
  $(document).on('change', '#bulk-field', function () {
    var field = $(this).val();
    $('.bulk-value').each(function () { $(this).prop('hidden', $(this).attr('data-field') !== field); });
  });
  $(document).on('submit', '.js-columns-form', function () {
    var cols = $(this).find('.js-col:checked').map(function () { return this.value; }).get();
    $(this).find('.js-cols-value').val(cols.join(','));
  });
  // a column figure (the list's footer, the kanban's lane total): each option is the page's URL with that choice
  $(document).on('change', '.js-figure-select', function () {
    if (this.value) { window.location.assign(this.value); }
  });

  // -- record page: inline edit of one field -----------------------------------------------------
  function closeEditor($wrap) {
    $wrap.removeClass('editing').find('.inline-editor').remove();
    $wrap.find('.detail-value-row').show();
  }

  $(document).on('click', '.js-inline-edit', function () {
    var $btn = $(this), field = $btn.attr('data-field'), $rec = $('#record');
    var $wrap = $btn.closest('.detail-field');
    if ($wrap.hasClass('editing')) { return; }
    $.getJSON($rec.attr('data-editor-url').replace('__FIELD__', field), { app: $rec.attr('data-app') })
      .done(function (data) {
        $wrap.addClass('editing');
        var $editor = $('<form class="inline-editor" novalidate></form>');
        $editor.html(data.html);   // rendered (and escaped) by the server's form macro
        var $actions = $('<div class="inline-actions"></div>');
        $actions.append($('<button type="button" class="btn btn-sm btn-light js-inline-cancel"></button>').text('Cancel'));
        $actions.append($('<button type="submit" class="btn btn-sm btn-primary js-inline-save"></button>').text('Save'));
        $editor.append($actions).append('<div class="invalid-feedback d-block js-inline-error"></div>');
        $wrap.find('.detail-value-row').hide().after($editor);
        initWidgets($editor);
        $editor.find('input:not([type=hidden]),select,textarea').first().trigger('focus');
      })
      .fail(function (xhr) { toast(errorText(xhr), 'danger'); });
  });

  $(document).on('click', '.js-inline-cancel', function () { closeEditor($(this).closest('.detail-field')); });
  $(document).on('keydown', '.inline-editor', function (e) {
    if (e.key === 'Escape') { closeEditor($(this).closest('.detail-field')); }
  });

  $(document).on('submit', '.inline-editor', function (e) {
    e.preventDefault();
    var $form = $(this), $wrap = $form.closest('.detail-field'), field = $wrap.attr('data-field');
    var $rec = $('#record'), $input = $form.find('[name="' + field + '"]').first(), value;
    if ($input.is(':checkbox')) { value = $input.is(':checked') ? 'true' : ''; }
    else if ($input.is('select[multiple]')) { value = $input.val() || []; }
    else { value = $input.val(); }
    var values = {}; values[field] = value;
    var version = parseInt($rec.attr('data-row-version'), 10);
    $form.find('.js-inline-save').prop('disabled', true);
    patch($rec.attr('data-patch-url'), values, isNaN(version) ? {} : { row_version: version })
      .done(function (data) {
        $wrap.find('.js-value').html(data.display[field]);   // server-rendered, escaped
        $('.highlight-value[data-field="' + field + '"]').html(data.display[field]);
        if (data.row_version) { $rec.attr('data-row-version', data.row_version); }
        if (data.title) { $('#record-title').text(data.title); }
        closeEditor($wrap);
        $wrap.addClass('just-saved');
        setTimeout(function () { $wrap.removeClass('just-saved'); }, 1200);
        toast('Saved.', 'success');
      })
      .fail(function (xhr) {
        $form.find('.js-inline-error').text(errorText(xhr));
        $form.find('.js-inline-save').prop('disabled', false);
      });
  });

  // -- record page: the stage/status path ---------------------------------------------------------
  $(document).on('click', '.js-path-step', function () {
    var $path = $(this).closest('.path'), $rec = $('#record'), values = {};
    values[$path.attr('data-field')] = $(this).attr('data-value');
    $path.addClass('saving');
    patch($rec.attr('data-patch-url'), values)
      .done(function () { window.location.reload(); })
      .fail(function (xhr) { $path.removeClass('saving'); toast(errorText(xhr), 'danger'); });
  });

  // -- kanban: drag a card to another lane -------------------------------------------------------
  var $board = $('#kanban');
  if ($board.length) {
    var dragged = null;

    var setCount = function ($lane, delta) {
      var $c = $lane.find('.lane-count');
      $c.text(Math.max(0, (parseInt($c.text(), 10) || 0) + delta));
    };

    var move = function (card, lane) {
      var $card = $(card), $from = $card.closest('.lane'), $to = $(lane);
      if ($from[0] === $to[0]) { return; }
      var $origin = $card.parent(), index = $card.index();
      $to.find('.lane-cards').prepend($card);
      setCount($from, -1); setCount($to, +1);
      $card.addClass('saving');
      var values = {}; values[$board.attr('data-field')] = $to.attr('data-value');
      patch($board.attr('data-patch-url').replace('__ID__', $card.attr('data-id')), values)
        .done(function () {
          $card.removeClass('saving').addClass('just-saved');
          setTimeout(function () { $card.removeClass('just-saved'); }, 1200);
          toast('Moved to ' + $to.find('.lane-title').text() + '.', 'success');
        })
        .fail(function (xhr) {   // the card goes back where it was
          $card.removeClass('saving');
          var $siblings = $origin.children('.kanban-card');
          if (index < $siblings.length) { $siblings.eq(index).before($card); } else { $origin.append($card); }
          setCount($to, -1); setCount($from, +1);
          $card.addClass('shake');
          setTimeout(function () { $card.removeClass('shake'); }, 600);
          toast(errorText(xhr), 'danger');
        });
    };

    $board.on('dragstart', '.kanban-card[draggable=true]', function (e) {
      dragged = this;
      e.originalEvent.dataTransfer.effectAllowed = 'move';
      e.originalEvent.dataTransfer.setData('text/plain', $(this).attr('data-id'));
      $(this).addClass('dragging');
    });
    $board.on('dragend', '.kanban-card', function () {
      $(this).removeClass('dragging');
      $board.find('.lane').removeClass('drop-target');
      dragged = null;
    });
    // A state machine's card lists the values it may move to (data-moves): other lanes refuse it.
    var canDrop = function (card, lane) {
      var moves = $(card).attr('data-moves');
      return !moves || JSON.parse(moves).indexOf($(lane).attr('data-value')) >= 0 ||
        $(card).closest('.lane')[0] === lane;
    };

    $board.on('dragover', '.lane', function (e) {
      if (!dragged || !canDrop(dragged, this)) { $(this).removeClass('drop-target'); return; }
      e.preventDefault();
      e.originalEvent.dataTransfer.dropEffect = 'move';
      $board.find('.lane').not(this).removeClass('drop-target');
      $(this).addClass('drop-target');
    });
    $board.on('drop', '.lane', function (e) {
      e.preventDefault();
      $(this).removeClass('drop-target');
      if (!dragged || !canDrop(dragged, this)) { return; }
      var card = dragged;
      dragged = null;
      $(card).removeClass('dragging');
      move(card, this);
    });
    // Phones and keyboards: "Move to…" menu on each card.
    $board.on('click', '.js-move-to', function (e) {
      e.preventDefault();
      var value = $(this).attr('data-value');
      var lane = $board.find('.lane').filter(function () { return $(this).attr('data-value') === value; })[0];
      if (lane) { move($(this).closest('.kanban-card')[0], lane); }
    });
  }

  // -- tree display of a list (views_tree.py): children are fetched on the first expand --------
  function hasAncestor(el, id) {
    return (' ' + ($(el).attr('data-ancestors') || '') + ' ').indexOf(' ' + id + ' ') >= 0;
  }
  function isChildOf(el, id) {
    var a = ($(el).attr('data-ancestors') || '').split(' ');
    return a[a.length - 1] === id;
  }
  function treeLoad(url, ancestors, $row, $after) {
    var mobile = $row.closest('.mobile-list').length > 0;
    var query = '&ancestors=' + encodeURIComponent(ancestors) + '&back=' +
      encodeURIComponent(window.location.pathname + window.location.search) +
      ($('#check-all').length ? '&selectable=1' : '');
    return $.ajax({ url: url + query, dataType: 'json' }).then(function (data) {
      var $new = $($.parseHTML($.trim(mobile ? data.items : data.rows)));
      $after.after($new);
      return $new;
    });
  }
  $(document).on('click', '.tree-toggle', function () {
    var $b = $(this), $row = $b.closest('[data-id]'), id = $row.attr('data-id');
    var $siblings = $row.parent().children();
    if ($b.attr('aria-expanded') === 'true') {
      $b.attr('aria-expanded', 'false');
      $siblings.filter(function () { return hasAncestor(this, id); }).prop('hidden', true)
        .find('.tree-toggle').attr('aria-expanded', 'false');
      return;
    }
    if ($b.attr('data-loaded')) {
      $b.attr('aria-expanded', 'true');
      $siblings.filter(function () { return isChildOf(this, id); }).prop('hidden', false);
      return;
    }
    $b.prop('disabled', true);
    treeLoad($b.attr('data-url'), $row.attr('data-ancestors') || '', $row, $row).then(function () {
      $b.attr('data-loaded', '1').attr('aria-expanded', 'true');
    }, function (xhr) { toast(errorText(xhr), 'danger'); }).always(function () { $b.prop('disabled', false); });
  });
  $(document).on('click', '.tree-more', function () {
    var $b = $(this), $row = $b.closest('.tree-more-row');
    var ancestors = ($row.attr('data-ancestors') || '').split(' ');
    ancestors.pop();   // the server adds the parent itself
    $b.prop('disabled', true);
    treeLoad($b.attr('data-url'), ancestors.join(' '), $row, $row).then(function () { $row.remove(); },
      function (xhr) { $b.prop('disabled', false); toast(errorText(xhr), 'danger'); });
  });

  // -- rows grids (ui/forms_rows.py): add, delete and reorder child rows — by drag, or by the
  //    up/down buttons for keyboards — and keep input names `<rows>.<n>.<field>` in row order,
  //    so the submitted order is the new order.
  function rowsRenumber($grid) {
    var name = $grid.attr('data-rows'), $rows = $grid.find('tbody > tr.rows-row');
    var pattern = new RegExp('^' + name + '\\.(\\d+|__i__)\\.');
    $rows.each(function (i) {
      $(this).find('[name]').each(function () {
        this.name = this.name.replace(pattern, name + '.' + i + '.');
        if (this.id) { this.id = 'f-' + this.name.replace(/\./g, '-'); }
      });
      $(this).find('.rows-pos').text(i + 1);
      $(this).find('.js-rows-up').prop('disabled', i === 0);
      $(this).find('.js-rows-down').prop('disabled', i === $rows.length - 1);
    });
    $grid.find('.rows-count').text($rows.length);
    $grid.find('.js-rows-add').prop('disabled', $rows.length >= parseInt($grid.attr('data-max-rows') || '1000', 10));
  }
  $(function () { $('.rows-grid').each(function () { rowsRenumber($(this)); }); });
  $(document).on('click', '.js-rows-add', function () {
    var $grid = $(this).closest('.rows-grid');
    var $row = $($grid.find('template.rows-template').prop('content')).children('tr').first().clone();
    $grid.find('tbody').append($row);
    rowsRenumber($grid);
    initWidgets($row);
    $row.find(':input:visible').first().trigger('focus');
  });
  $(document).on('click', '.js-rows-delete', function () {
    var $grid = $(this).closest('.rows-grid'), $row = $(this).closest('tr'), $next = $row.next('tr').length ? $row.next('tr') : $row.prev('tr');
    $row.remove();
    rowsRenumber($grid);
    ($next.length ? $next.find('.js-rows-delete') : $grid.find('.js-rows-add')).trigger('focus');
  });
  $(document).on('click', '.js-rows-up, .js-rows-down', function () {
    var $b = $(this), $grid = $b.closest('.rows-grid'), $row = $b.closest('tr');
    if ($b.hasClass('js-rows-up')) { $row.insertBefore($row.prev('tr')); } else { $row.insertAfter($row.next('tr')); }
    rowsRenumber($grid);
    if (!$b.prop('disabled')) { $b.trigger('focus'); } else { $row.find('.js-rows-up, .js-rows-down').not(':disabled').first().trigger('focus'); }
  });
  var $dragged = null;
  $(document).on('dragstart', '.rows-grid tr.rows-row', function (e) {
    if ($(e.target).is(':input')) { return; }
    $dragged = $(this).addClass('rows-dragging');
    e.originalEvent.dataTransfer.effectAllowed = 'move';
    e.originalEvent.dataTransfer.setData('text/plain', '');
  });
  $(document).on('dragover', '.rows-grid tr.rows-row', function (e) {
    if (!$dragged || $(this).closest('tbody')[0] !== $dragged.closest('tbody')[0]) { return; }
    e.preventDefault();
    var rect = this.getBoundingClientRect();
    if (this !== $dragged[0]) {
      if (e.originalEvent.clientY < rect.top + rect.height / 2) { $dragged.insertBefore(this); } else { $dragged.insertAfter(this); }
    }
  });
  $(document).on('drop dragend', '.rows-grid tr.rows-row', function (e) {
    if (!$dragged) { return; }
    e.preventDefault();
    var $grid = $dragged.closest('.rows-grid');
    $dragged.removeClass('rows-dragging');
    $dragged = null;
    rowsRenumber($grid);
  });
}(window.jQuery));

/* A saved report's "Promote to org" (admins): the report becomes org metadata through the change
   pipeline; the answer names the new report or the problem. */
(function ($) {
  'use strict';
  $(document).on('click', '#promote-report', function () {
    var $b = $(this);
    $b.prop('disabled', true);
    $.ajax({ url: $b.data('url'), method: 'POST', contentType: 'application/json', data: '{}' })
      .done(function () { window.location.href = $b.data('done'); })
      .fail(function (xhr) {
        var body = xhr.responseJSON || {};
        window.alert((body.error && body.error.message) || 'The report could not be promoted.');
        $b.prop('disabled', false);
      });
  });
}(window.jQuery));

/* Image fields in forms: the chosen picture is previewed before the form is saved (read as a data:
   URL, which the page's CSP allows for images; nothing is uploaded until the form is sent). */
(function ($) {
  'use strict';
  $(document).on('change', 'input[type=file][data-image-preview]', function () {
    var file = this.files && this.files[0];
    var preview = $(this).closest('.image-field').find('img.field-image-preview')[0];
    if (!preview) { return; }
    if (!file || !/^image\/(png|jpeg|gif|webp)$/.test(file.type) || !window.FileReader) {
      if (!preview.getAttribute('src')) { preview.hidden = true; }
      return;
    }
    var reader = new FileReader();
    reader.onload = function () { preview.src = reader.result; preview.hidden = false; };
    reader.readAsDataURL(file);
  });
}(window.jQuery));

/* Attachments (record pages): the card is a plain multipart form; here, files dropped on the card
   are put into its file input and the form is submitted, and choosing files submits at once.
   Removing an attachment asks first. */
(function ($) {
  'use strict';
  var $form = $('#attachment-form');
  if (!$form.length) { return; }
  var $card = $('#attachments'), input = document.getElementById('attachment-input');
  function send(files) {
    if (!files || !files.length) { return; }
    if (files !== input.files) {
      try { input.files = files; } catch (e) { return; }   // old browsers: the form still works
    }
    $card.addClass('uploading');
    $('#attachment-submit').prop('disabled', true).text('Uploading ' + files.length + (files.length === 1 ? ' file…' : ' files…'));
    $form.trigger('submit');
  }
  $card.on('dragenter dragover', function (e) {
    var types = e.originalEvent.dataTransfer && e.originalEvent.dataTransfer.types;
    if (!types || $.inArray('Files', types) < 0) { return; }
    e.preventDefault();
    $card.addClass('drag-over');
  }).on('dragleave', function (e) {
    if (!e.relatedTarget || !$.contains(this, e.relatedTarget)) { $card.removeClass('drag-over'); }
  }).on('drop', function (e) {
    var dt = e.originalEvent.dataTransfer;
    $card.removeClass('drag-over');
    if (!dt || !dt.files || !dt.files.length) { return; }
    e.preventDefault();
    send(dt.files);
  });
  $(input).on('change', function () { send(input.files); });
  $card.on('submit', '.js-confirm-remove', function (e) {
    var name = $(this).closest('.attachment').find('.attachment-name').text();
    if (!window.confirm('Remove ' + name + '?')) { e.preventDefault(); }
  });
}(window.jQuery));
